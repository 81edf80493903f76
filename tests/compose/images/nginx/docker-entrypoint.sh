#!/bin/sh
# What the official nginx image does before nginx starts (its 20-envsubst-on-templates.sh): every
# /etc/nginx/templates/NAME.template becomes /etc/nginx/conf.d/NAME, with only the variables whose
# names match NGINX_ENVSUBST_FILTER (all defined variables when unset) substituted.
set -eu
if [ "${1:-}" = nginx ] || [ "${1:-}" = nginx-debug ]; then
  template_dir=${NGINX_ENVSUBST_TEMPLATE_DIR:-/etc/nginx/templates}
  suffix=${NGINX_ENVSUBST_TEMPLATE_SUFFIX:-.template}
  output_dir=${NGINX_ENVSUBST_OUTPUT_DIR:-/etc/nginx/conf.d}
  filter=${NGINX_ENVSUBST_FILTER:-}
  # shellcheck disable=SC2016
  defined=$(printf '${%s} ' $(awk "END { for (name in ENVIRON) { print ( name ~ /${filter}/ ) ? name : \"\" } }" </dev/null))
  for template in "$template_dir"/*"$suffix"; do
    [ -f "$template" ] || continue
    name=$(basename "$template" "$suffix")
    echo "docker-entrypoint.sh: $template -> $output_dir/$name" >&2
    envsubst "$defined" <"$template" >"$output_dir/$name"
  done
fi
exec "$@"
