# cotool-slack: Node 24 runs the TypeScript sources directly; no build step, no native addons.
# The image holds exactly: production dependencies (npm ci --omit=dev), package.json, the sources
# (src/), the launchers (bin/: `npm start`, `npm run doctor`) and manifest.yml (the doctor compares
# the token's scopes with it). .ci/image-check.sh installs and starts the same set without Docker.
FROM node:24-slim AS deps
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

FROM node:24-slim
ENV NODE_ENV=production \
    DATABASE_URL=sqlite:/data/cotool-slack.db \
    PORT=3000
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json manifest.yml ./
COPY bin ./bin
COPY src ./src
RUN mkdir -p /data && chown node:node /data
# The node user (uid 1000): Kubernetes' runAsNonRoot needs the numeric id to verify it.
USER 1000:1000
VOLUME ["/data"]
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
STOPSIGNAL SIGTERM
# `docker run … cotool-slack node bin/doctor.mjs` checks the configuration instead.
CMD ["node", "bin/start.mjs"]
