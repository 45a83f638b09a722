# refund-notifier: the service (and, with another command, the Antom sandbox simulator).
FROM node:20-bookworm-slim AS build
WORKDIR /app
# better-sqlite3 compiles its native module here when no prebuilt binary is reachable.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts=false
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY bin ./bin
COPY config ./config
RUN mkdir -p /app/data && chown node:node /app/data
USER node
# 8080: the notify listener (HTTP_PORT), for Antom; 8081: the admin listener (ADMIN_PORT), for
# operators, probes and Prometheus, never to be exposed to the internet.
EXPOSE 8080 8081
HEALTHCHECK --interval=10s --timeout=3s --retries=6 CMD node -e "fetch('http://127.0.0.1:'+(process.env.ADMIN_PORT||8081)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# The launcher itself, not `node bin/…`: its first line carries the service's V8 flags.
ENTRYPOINT ["/app/bin/refund-notifier.js"]
CMD ["start"]
