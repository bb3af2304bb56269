-- Replicas clients can find (catalog/postgres/replica-registry.ts): each flight-server process with
-- FLIGHT_ADVERTISE_URL keeps one row and renews its heartbeat every few seconds. A replica is live
-- while its heartbeat is younger than the liveness window, judged by this server's clock; GetFlightInfo
-- lists the live replicas' URLs as endpoint locations. Graceful shutdown deletes the row.

CREATE TABLE flightdeck.replicas (
  -- Random per process start: a restarted replica is a new row (its old one ages out).
  replica_id   uuid PRIMARY KEY,
  -- FLIGHT_ADVERTISE_URL: grpc://host:port or grpc+tls://host:port, as clients reach it.
  url          text NOT NULL,
  started_at   timestamptz NOT NULL DEFAULT now(),
  heartbeat_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX replicas_heartbeat ON flightdeck.replicas (heartbeat_at);
