# syntax=docker/dockerfile:1
# Warden: build with dev dependencies, run with production ones only, as an unprivileged user.

FROM node:20-bookworm-slim AS build
WORKDIR /app
# argon2 ships prebuilt binaries; python3/make/g++ are only a fallback for other platforms
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json .npmrc ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json drizzle.config.ts ./
COPY src ./src
COPY drizzle ./drizzle
COPY views ./views
COPY assets ./assets
# the admin console (Vite + React), built into dist/console and served by Warden at /console
COPY console ./console
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    DATA_DIR=/data
WORKDIR /app
COPY --from=build --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist ./dist
COPY --from=build --chown=node:node /app/drizzle ./drizzle
COPY --from=build --chown=node:node /app/views ./views
COPY --from=build --chown=node:node /app/assets ./assets
COPY --chown=node:node package.json ./
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# migrations are applied at start; `docker run IMAGE node dist/cli.js rotate-keys` runs admin tasks
CMD ["node", "dist/server.js"]
