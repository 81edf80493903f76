# dashhub production image: gunicorn serving dashhub.wsgi:server on port 8050.
# Build: docker build -t dashhub .   Run: docker run -p 8050:8050 -e DASHHUB_SECRET_KEY=… dashhub
# The Python base is a build argument (docker compose passes PYTHON_IMAGE from .env); the test suite
# builds this file unchanged on a stand-in made from Debian packages (tests/compose/standins.py).
ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS build
WORKDIR /src
# The dependencies first, from pyproject.toml alone: a change to the code rebuilds the app's wheel
# only, not the hundred megabytes of wheels it runs on.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
      > requirements.txt \
 && pip wheel --no-cache-dir --wheel-dir /wheels/deps -r requirements.txt
COPY README.md config.yaml ./
COPY src ./src
COPY layouts ./layouts
COPY callbacks ./callbacks
COPY assets ./assets
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels/app .

FROM ${PYTHON_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DASHHUB_CONFIG=/etc/dashhub/config.yaml \
    DASHHUB_PATHS__DATA_DIR=/var/lib/dashhub \
    GUNICORN_BIND=0.0.0.0:8050
RUN groupadd --system --gid 10001 dashhub \
 && useradd --system --uid 10001 --gid dashhub --home-dir /var/lib/dashhub dashhub
COPY --from=build /wheels/deps /wheels/deps
RUN pip install --no-cache-dir --no-index /wheels/deps/*.whl && rm -rf /wheels
COPY --from=build /wheels/app /wheels/app
RUN pip install --no-cache-dir --no-index --no-deps /wheels/app/*.whl && rm -rf /wheels
COPY config.yaml /etc/dashhub/config.yaml
COPY deploy/gunicorn.conf.py /etc/dashhub/gunicorn.conf.py
# jobs/ is a volume shared with the worker, datasets/ one shared by the app replicas (users' own
# files): created here so that they belong to the app user.
RUN mkdir -p /var/lib/dashhub/jobs /var/lib/dashhub/datasets && chown -R dashhub:dashhub /var/lib/dashhub
USER 10001:10001
WORKDIR /var/lib/dashhub
EXPOSE 8050
# Every 10 s (a Python one-liner, no dependency touched): nginx, which waits for healthy apps, starts
# within seconds of gunicorn being ready rather than up to 30 s later; failures count after 60 s.
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
  CMD ["python", "-c", "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8050/health', timeout=2).status != 200)"]
CMD ["gunicorn", "-c", "/etc/dashhub/gunicorn.conf.py", "dashhub.wsgi:server"]
