# parkops image: Airflow 3 + the parkops package, installed from the committed uv.lock.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    UV_PROJECT_ENVIRONMENT=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    AIRFLOW_HOME=/opt/airflow \
    PARKOPS_HOME=/opt/parkops \
    AIRFLOW__CORE__DAGS_FOLDER=/opt/parkops/dags \
    AIRFLOW__CORE__PLUGINS_FOLDER=/opt/parkops/plugins \
    AIRFLOW__CORE__LOAD_EXAMPLES=False \
    AIRFLOW__CORE__DEFAULT_TIMEZONE=Asia/Shanghai

RUN pip install --no-cache-dir uv==0.13.8
WORKDIR /opt/parkops
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project
COPY . .
RUN uv sync --frozen --no-dev
RUN useradd --create-home --uid 50000 airflow && mkdir -p /opt/airflow /data && chown -R airflow /opt/airflow /data
USER airflow
