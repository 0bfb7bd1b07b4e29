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
RUN pip install --no-cache-dir . && useradd --system crm && mkdir -p /app/.data \
    && chown crm /app/.data
USER crm
ENV HOST=0.0.0.0 PORT=8000
EXPOSE 8000
CMD ["crm", "serve"]
