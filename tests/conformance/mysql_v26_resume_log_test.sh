#!/usr/bin/env bash
# Conformance case v2.0.26/mysql/resume_log_test (see _case.sh).
exec bash "$(dirname "$0")/_case.sh" v2.0.26/mysql/resume_log_test
