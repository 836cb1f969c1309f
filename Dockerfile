# One image, two targets: `gateway` and `worker` (see docker-compose.yml).

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
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
# package.json carries "type": "module", which dist/ needs.
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/dist dist
# tsc copies no assets; the gateway serves these from next to its code.
COPY --from=build /app/gateway/public dist/gateway/public
# The categorizer's trained model, loaded by the worker at start.
COPY --from=build /app/worker/processors/categorize/model.json dist/worker/processors/categorize/model.json
# A fresh named volume mounted at /data copies this ownership, so user node can write to it.
RUN mkdir -p /data && chown node:node /data
USER node

FROM runtime AS gateway
EXPOSE 5000
CMD ["node", "dist/gateway/main.js"]

FROM runtime AS worker
CMD ["node", "dist/worker/main.js"]
