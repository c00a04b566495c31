# One image for the worker, the API and the codec server; docker-compose.yml picks the command.
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
# tsx runs the TypeScript entry points; dev tools (tests, linters) are left out.
RUN npm install --omit=dev && npm cache clean --force
COPY tsconfig.json ./
COPY bin ./bin
COPY src ./src
# The data volume must be writable by the unprivileged user.
RUN mkdir -p /data && chown node:node /data
USER node
# Data (outbox, stage changes, codec key file when no LEADCYCLE_CODEC_KEYS) goes to a volume.
ENV LEADCYCLE_DATA_DIR=/data
CMD ["node", "--import", "tsx", "src/worker.ts"]
