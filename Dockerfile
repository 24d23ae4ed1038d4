# One image for the three services and the web pages; the command picks one:
#   docker run IMAGE serve referral
#   docker run IMAGE web
# docker-compose.yml runs intake, referral, review and web from this image.
#
# The web pages serve GOV.UK Frontend's files themselves (never from a CDN). A first stage
# installs them with npm from services/web/package-lock.json; only their built files
# (dist/govuk) go into the Python stage, where `pip install .` puts them into the package
# (pyproject.toml's package-data). The Python stage needs no Node.js.
FROM node:20-slim AS govuk-frontend
WORKDIR /src
COPY services/web/package.json services/web/package-lock.json services/web/
RUN npm ci --prefix services/web --ignore-scripts --no-audit --no-fund

FROM python:3.11-slim

# No system libpq needed: pyproject.toml asks for psycopg[binary], which ships its own.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# A fixed numeric uid so that orchestrators can check "runAsNonRoot" and volumes can be
# chowned to it; /var/lib/safeguard (mode 0700) is the only place the services write.
RUN useradd --system --uid 10001 --user-group --no-create-home safeguard \
    && install -d -m 0700 -o safeguard -g safeguard /var/lib/safeguard

# A Unicode font for review's PDF exports (without it they fall back to Helvetica, and
# characters it cannot show are replaced; the JSON export always keeps them exactly).
RUN apt-get update \
    && apt-get install -y --no-install-recommends fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /src
COPY . .
COPY --from=govuk-frontend /src/services/web/node_modules/govuk-frontend/dist/govuk \
     services/web/node_modules/govuk-frontend/dist/govuk
RUN pip install --no-cache-dir .

# Containers listen on all interfaces (the default 127.0.0.1 would be unreachable from
# outside the container); embedded data, if any, goes where the user may write.
ENV SAFEGUARD_HOST=0.0.0.0 \
    SAFEGUARD_VAR_DIR=/var/lib/safeguard
WORKDIR /var/lib/safeguard
USER 10001:10001

# web, intake, referral, review (SAFEGUARD_*_PORT). Health checks live in docker-compose.yml
# because each process answers on its own port (the services /readyz, the web /healthz).
EXPOSE 8100 8101 8102 8103
ENTRYPOINT ["safeguard"]
CMD ["serve", "intake"]
