# chanwatch: one image, its role chosen by the command (migrate, worker, run, web, demo).
FROM python:3.11-slim-bookworm AS build
# pdqhash compiles Meta's C++ PDQ sources when it installs, so the build stage needs a compiler.
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml README.md ./
COPY crawler ./crawler
COPY spiders ./spiders
COPY storage ./storage
COPY sandbox ./sandbox
RUN python -m venv /opt/chanwatch \
    && /opt/chanwatch/bin/pip install --no-cache-dir --upgrade pip \
    && /opt/chanwatch/bin/pip install --no-cache-dir .

FROM python:3.11-slim-bookworm
RUN useradd --system --create-home --home-dir /home/chanwatch chanwatch
COPY --from=build /opt/chanwatch /opt/chanwatch
COPY config /app/config
# The working folder is the user's: `chanwatch demo` writes its database and settings there.
RUN chown chanwatch:chanwatch /app
ENV PATH=/opt/chanwatch/bin:$PATH \
    PYTHONUNBUFFERED=1
WORKDIR /app
USER chanwatch
ENTRYPOINT ["chanwatch"]
CMD ["--help"]
