# syntax=docker/dockerfile:1
# One image for the four flightdeck services; the command picks the service:
#   flight-server   node --import tsx flight-server/src/main.ts   (the default)
#   graphql-facade  node --import tsx graphql-facade/src/main.ts
#   user-service    node --import tsx user-service/src/main.ts    (migrations alone: user-service/src/migrate.ts)
#   gateway         node --import tsx gateway/src/main.ts
# each exactly what `npm start -w <service>` runs, from /app. Configured only by environment
# variables (docs/configuration.md); deploy/compose.yaml and deploy/k8s/ set them.
# Built and checked against the code by test/src/deploy-manifests.test.ts.

ARG NODE_IMAGE=node:20-bookworm-slim

# Production dependencies of the service workspaces only (no dev tools, no test or bench packages).
FROM ${NODE_IMAGE} AS prod-deps
WORKDIR /app
COPY package.json package-lock.json ./
COPY contract/package.json contract/
COPY proto/package.json proto/
COPY client/package.json client/
COPY flight-server/package.json flight-server/
COPY test/package.json test/
COPY bench/package.json bench/
COPY user-service/package.json user-service/
COPY graphql-http/package.json graphql-http/
COPY graphql-facade/package.json graphql-facade/
COPY gateway/package.json gateway/
COPY web/package.json web/
RUN npm ci --omit=dev --no-audit --no-fund \
      --workspace contract --workspace proto --workspace graphql-http \
      --workspace flight-server --workspace graphql-facade --workspace user-service --workspace gateway \
 && npm cache clean --force

# The explorer page the gateway serves at GET / (Vite build of web/; needs web's dev dependencies).
FROM ${NODE_IMAGE} AS web-build
WORKDIR /app
COPY package.json package-lock.json tsconfig.base.json ./
COPY contract/package.json contract/
COPY proto/package.json proto/
COPY client/package.json client/
COPY flight-server/package.json flight-server/
COPY test/package.json test/
COPY bench/package.json bench/
COPY user-service/package.json user-service/
COPY graphql-http/package.json graphql-http/
COPY graphql-facade/package.json graphql-facade/
COPY gateway/package.json gateway/
COPY web/ web/
RUN npm ci --no-audit --no-fund --workspace web && npm run build -w web

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    FLIGHT_HOST=0.0.0.0 \
    FACADE_HOST=0.0.0.0 \
    USERS_HOST=0.0.0.0 \
    GATEWAY_HOST=0.0.0.0 \
    DATA_DIR=/data/flight \
    CACHE_DIR=/data/cache \
    USERS_DATA_DIR=/data/users \
    GLIBC_TUNABLES=glibc.malloc.hugetlb=1
WORKDIR /app
COPY --from=prod-deps /app/node_modules node_modules/
COPY package.json package-lock.json tsconfig.base.json ./
COPY contract/ contract/
COPY proto/ proto/
COPY graphql-http/ graphql-http/
COPY flight-server/ flight-server/
COPY graphql-facade/ graphql-facade/
COPY user-service/ user-service/
COPY gateway/ gateway/
COPY --from=web-build /app/web/dist web/dist/
# The services write only under /data (a volume in production) and tsx's cache under /tmp.
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 8815 4001 4002 4000
CMD ["node", "--import", "tsx", "flight-server/src/main.ts"]
