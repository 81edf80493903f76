# dashhub production image: gunicorn serving dashhub.wsgi:server on port 8050.
# Build: docker build -t dashhub .   Run: docker run -p 8050:8050 -e DASHHUB_SECRET_KEY=… dashhub

FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md config.yaml ./
COPY src ./src
COPY layouts ./layouts
COPY callbacks ./callbacks
COPY assets ./assets
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DASHHUB_CONFIG=/etc/dashhub/config.yaml \
    DASHHUB_PATHS__DATA_DIR=/var/lib/dashhub \
    GUNICORN_BIND=0.0.0.0:8050
RUN groupadd --system --gid 10001 dashhub \
 && useradd --system --uid 10001 --gid dashhub --home-dir /var/lib/dashhub dashhub
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
COPY config.yaml /etc/dashhub/config.yaml
COPY deploy/gunicorn.conf.py /etc/dashhub/gunicorn.conf.py
# jobs/ is a volume shared with the worker, datasets/ one shared by the app replicas (users' own
# files): created here so that they belong to the app user.
RUN mkdir -p /var/lib/dashhub/jobs /var/lib/dashhub/datasets && chown -R dashhub:dashhub /var/lib/dashhub
USER 10001:10001
WORKDIR /var/lib/dashhub
EXPOSE 8050
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8050/health', timeout=2).status != 200)"]
CMD ["gunicorn", "-c", "/etc/dashhub/gunicorn.conf.py", "dashhub.wsgi:server"]
