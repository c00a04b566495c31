# One image for the worker, the API and the codec server; docker-compose.yml picks the command.
# The build stage compiles dist/ (JavaScript, declarations, the workflow bundle) with the dev tools;
# the image holds dist/ and the production dependencies only, and runs plain node.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# No install scripts: building dist/ loads no native addon (better-sqlite3 opens its binary lazily).
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/build.ts ./scripts/
COPY src ./src
RUN npm run build

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
# --ignore-scripts skips `prepare` (the build, done above); better-sqlite3 (the analytics store) then
# downloads a prebuilt binary, or builds one with the toolchain, removed after.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ \
  && npm ci --omit=dev --ignore-scripts && npm rebuild better-sqlite3 && npm cache clean --force \
  && apt-get purge -y python3 make g++ && apt-get autoremove -y && rm -rf /var/lib/apt/lists/*
COPY --from=build /app/dist ./dist
COPY bin ./bin
# The data volume must be writable by the unprivileged user.
RUN mkdir -p /data && chown node:node /data
USER node
# Data (outbox, the analytics store leadcycle.db, codec key file when no LEADCYCLE_CODEC_KEYS) goes to a volume.
ENV LEADCYCLE_DATA_DIR=/data
CMD ["node", "dist/worker.js"]
