# One image for the worker, the API and the codec server; docker-compose.yml picks the command.
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
# tsx runs the TypeScript entry points; dev tools (tests, linters) are left out. better-sqlite3
# (the analytics store) downloads a prebuilt binary, or builds one with the toolchain, removed after.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ \
  && npm install --omit=dev && npm cache clean --force \
  && apt-get purge -y python3 make g++ && apt-get autoremove -y && rm -rf /var/lib/apt/lists/*
COPY tsconfig.json ./
COPY bin ./bin
COPY src ./src
# The data volume must be writable by the unprivileged user.
RUN mkdir -p /data && chown node:node /data
USER node
# Data (outbox, the analytics store leadcycle.db, codec key file when no LEADCYCLE_CODEC_KEYS) goes to a volume.
ENV LEADCYCLE_DATA_DIR=/data
CMD ["node", "--import", "tsx", "src/worker.ts"]
