#!/bin/sh
# Creates the bucket and the workers' S3 account (read-write, not admin).
# The administrator's keys come from minio.env, the workers' from s3.env.
set -eu
until mc alias set local http://minio:9000 "$MINIO_ROOT_USER" "$MINIO_ROOT_PASSWORD" >/dev/null 2>&1; do sleep 2; done
mc mb --ignore-existing local/isweep
mc admin user add local "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY"
mc admin policy attach local readwrite --user "$AWS_ACCESS_KEY_ID" || true
echo "bucket isweep ready"
