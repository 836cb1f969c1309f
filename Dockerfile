# One Dockerfile, two images: targets `gateway` and `worker` (see docker-compose.yml).
#   docker build --target gateway -t warren-gateway .
#   docker build --target worker  -t warren-worker  .
# The build stage runs exactly what test/e2e/build.test.ts runs outside Docker: npm ci, npm run build.

FROM node:20-bookworm-slim AS build
# better-sqlite3 compiles when no prebuilt binary matches.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY shared shared
COPY gateway gateway
COPY worker worker
COPY scripts scripts
# tsc, then the assets the compiled code reads from beside itself (scripts/copy-assets.ts).
RUN npm run build && npm prune --omit=dev

# What both images share: production dependencies and the compiled code, no compilers, no sources.
FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
# package.json carries "type": "module", which dist/ needs.
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/dist dist
# A fresh named volume mounted at /data copies this ownership, so user node can write to it.
RUN mkdir -p /data && chown node:node /data
ENV DATA_DIR=/data HOST=0.0.0.0
USER node

FROM runtime AS gateway
EXPOSE 5000
CMD ["node", "dist/gateway/main.js"]

FROM runtime AS worker
# Metrics and /health/ready (its healthcheck) on 9464; reachable from other containers, not published.
ENV METRICS_HOST=0.0.0.0
EXPOSE 9464
CMD ["node", "dist/worker/main.js"]
