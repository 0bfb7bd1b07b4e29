# The explorer page's script comes from npm at build time (web/package-lock.json).
FROM node:20-slim AS web
WORKDIR /web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error

FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY app.py cli.py composition.py drill.py observability.py recovery.py settings.py supervision.py ./
COPY schema schema
COPY resolvers resolvers
COPY services services
COPY relational relational
COPY graph graph
COPY analytics analytics
COPY auth auth
COPY web/static web/static
COPY --from=web /web/node_modules/cytoscape/dist/cytoscape.esm.min.mjs web/static/vendor/
COPY --from=web /web/node_modules/cytoscape/LICENSE web/static/vendor/cytoscape.LICENSE
RUN pip install --no-cache-dir . && useradd --system crm && mkdir -p /app/.data \
    && chown crm /app/.data
USER crm
ENV HOST=0.0.0.0 PORT=8000 EXPLORER_DIR=/app/web/static
EXPOSE 8000
CMD ["crm", "serve"]
