# One image for the four tickerflow daemons and the dashboard they serve.
#   build:    compiles the C daemons with Debian's -dev packages
#   frontend: builds frontend/dist with Debian's Node.js and the npm registry
#   runtime:  the daemons with only their shared libraries, run as a non-root user
# docker-compose.yaml picks the daemon with `command:`; `docker run IMAGE tickerflow-api --help` works too.

FROM debian:bookworm-slim AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      gcc libc6-dev cmake ninja-build pkg-config \
      librdkafka-dev libpq-dev libmicrohttpd-dev libwebsockets-dev libev-dev libjansson-dev libyaml-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY CMakeLists.txt ./
COPY cmake cmake
COPY common common
COPY services services
COPY db db
RUN cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release -DTICKERFLOW_BUILD_TESTS=OFF \
      -DCMAKE_INSTALL_PREFIX=/usr/local \
 && cmake --build /build \
 && DESTDIR=/install cmake --install /build --strip

FROM debian:bookworm-slim AS frontend
# Behind a TLS-intercepting proxy, pass its CA certificates (PEM text) so npm can reach
# the registry: --build-arg EXTRA_CA_CERTS="$(cat proxy-ca.crt)". Only this stage sees them.
ARG EXTRA_CA_CERTS=
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nodejs npm ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && if [ -n "$EXTRA_CA_CERTS" ]; then \
      printf '%s\n' "$EXTRA_CA_CERTS" >/usr/local/share/ca-certificates/extra-ca.crt && update-ca-certificates; \
    fi
ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
WORKDIR /frontend
COPY frontend/package.json frontend/package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY frontend/build.mjs ./
COPY frontend/src src
RUN node build.mjs

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      librdkafka1 libpq5 libmicrohttpd12 libwebsockets17 libwebsockets-evlib-ev libev4 libjansson4 libyaml-0-2 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --home-dir /nonexistent --shell /usr/sbin/nologin tickerflow
COPY --from=build /install/usr/local/bin/ /usr/local/bin/
COPY --from=frontend /frontend/dist /usr/share/tickerflow/frontend
COPY config.yaml /etc/tickerflow/config.yaml
COPY services/producer/samples /usr/share/tickerflow/samples
COPY docker/tickerflow-healthcheck /usr/local/bin/
# The same variables as a native run (docs/configuration.md); these only point the
# defaults at the places this image uses. docker-compose.yaml sets the rest.
ENV TICKERFLOW_CONFIG=/etc/tickerflow/config.yaml \
    API_FRONTEND_DIR=/usr/share/tickerflow/frontend
USER tickerflow
WORKDIR /tmp
# 5000: dashboard, /api and /ws (tickerflow-api); 9101-9107: /healthz and /metrics.
EXPOSE 5000 9101 9102 9103 9104 9105 9106 9107
CMD ["tickerflow-api"]
