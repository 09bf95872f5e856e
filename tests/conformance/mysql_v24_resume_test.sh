#!/usr/bin/env bash
# Conformance case v2.0.24/mysql/resume_test (see _case.sh).
exec bash "$(dirname "$0")/_case.sh" v2.0.24/mysql/resume_test
