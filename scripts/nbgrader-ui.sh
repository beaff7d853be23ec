#!/usr/bin/env bash
# Turn nbgrader's JupyterLab menus and server extensions on or off in one environment.
# usage: scripts/nbgrader-ui.sh enable|disable [BIN_DIR]   (BIN_DIR defaults to .venv/bin)
set -euo pipefail
action=${1:?usage: scripts/nbgrader-ui.sh enable|disable [BIN_DIR]}
bin=${2:-.venv/bin}
case $action in enable|disable) ;; *) echo "first argument: enable or disable" >&2; exit 2;; esac
"$bin/jupyter" labextension "$action" --level=sys_prefix @jupyter/nbgrader >/dev/null 2>&1
# one call for the four server extensions (each `jupyter` start costs seconds)
"$bin/jupyter" server extension "$action" --sys-prefix \
  nbgrader.server_extensions.{formgrader,validate_assignment,assignment_list,course_list} >/dev/null 2>&1
echo "nbgrader's JupyterLab menus: ${action}d"
