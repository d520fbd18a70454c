# Firstline in a container: non-root, migrations before start.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    FIRSTLINE_DATABASE_URL=sqlite:////data/firstline.db
RUN useradd --create-home --uid 10001 firstline && mkdir /data && chown firstline /data
WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY alembic ./alembic
COPY app ./app
RUN pip install --no-cache-dir -e .

USER firstline
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/readyz').status != 200)"
CMD ["sh", "-c", "firstline migrate && exec firstline serve --host 0.0.0.0 --port 8000"]
