-- Run once by the postgres image on an empty volume: the flight catalog gets database
-- "flightdeck" (POSTGRES_DB), the user service its own database.
CREATE DATABASE users OWNER flightdeck;
