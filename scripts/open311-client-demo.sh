#!/usr/bin/env bash
# Open311 GeoReport v2 against a running CityLink, through Open311 client libraries from PyPI
# used unchanged: `civicbot` (0.4.0, its Open311Client: services, service definitions,
# posting a request, reading it back; JSON) and `georeport` (0.3.1, a read-only GeoReport v2
# wrapper; here in XML, parsed by xmltodict).
#
#   scripts/open311-client-demo.sh [BASE]        BASE default http://127.0.0.1:3170
#
# The server must run with demo data (the demo accounts sign in to make the key), e.g.
#   DATABASE_URL=sqlite:/tmp/o311/s.db CITYLINK_DEMO=true LEPTOS_SITE_ADDR=127.0.0.1:3170 \
#     LEPTOS_SITE_ROOT=target/site target/release/citylink
# An API key with the scope `open311` is made through the app as the demo administrator
# would on /admin/keys (sign in, then the keys page's server function); set OPEN311_API_KEY
# to use an existing key instead. The libraries are installed into a virtualenv under /tmp.
set -euo pipefail

base="${1:-http://127.0.0.1:3170}"
venv="${OPEN311_DEMO_VENV:-/tmp/citylink-open311-demo}"
pw="${CITYLINK_DEMO_PASSWORD:-Demo@2026!}"

key="${OPEN311_API_KEY:-}"
if [ -z "$key" ]; then
  jar="$(mktemp)"
  trap 'rm -f "$jar"' EXIT
  curl -fsS -c "$jar" -o /dev/null "$base/api/auth/login" \
    --data-urlencode "username=admin" --data-urlencode "password=$pw" --data-urlencode "next=/"
  dept="$(curl -fsS -b "$jar" -X POST "$base/api/cases/departments" |
    python3 -c 'import json,sys; print(next(d["id"] for d in json.load(sys.stdin) if d["name_en"] == "City Management Bureau"))')"
  key="$(curl -fsS -b "$jar" "$base/api/admin/keys/create" \
    --data-urlencode "name=Open311 client demo" --data-urlencode "source=open311-demo-$(date +%s)" \
    --data-urlencode "department_id=$dept" --data-urlencode "scopes=open311" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["secret"])')"
  echo "API key made through /api/admin/keys/create (scope open311): ${key:0:10}…"
fi

if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install -q "civicbot==0.4.0" "georeport==0.3.1"
"$venv/bin/pip" list 2>/dev/null | grep -Ei '^(civicbot|georeport) '

OPEN311_BASE="$base/open311/v2" OPEN311_KEY="$key" "$venv/bin/python" - <<'EOF'
import os
from civicbot import Open311Client
from civicbot.registry import Endpoint
from georeport import GeoReport

root = os.environ["OPEN311_BASE"]
key = os.environ["OPEN311_KEY"]
city = Open311Client(Endpoint(id="taiyuan", name="Taiyuan", base_url=root, write=True),
                     jurisdiction_id="taiyuan.gov.cn")
xml = GeoReport(root, jurisdiction="taiyuan.gov.cn", output_format="xml")

print("\n1. civicbot list_services() (JSON):")
services = city.list_services()
for s in services:
    print(f"   {s['service_code']:<19} {s['service_name']}  [{s['group']}] metadata={s['metadata']}")
print(f"   {len(services)} services")
d = city.get_service_definition("manhole")
a = d["attributes"][0]
print(f"   manhole asks {a['code']!r} ({a['datatype']}, required={a['required']}): {a['description']} "
      f"{[v['key'] for v in a['values']]}")

print("\n   georeport get_service_list() (XML):", len(xml.get_service_list()), "services;",
      "get_service_definition('manhole') ->",
      xml.get_service_definition("manhole")["attributes"]["attribute"]["code"])

print("\n2. civicbot create_request('manhole', …) (POST requests.json, checked against the live definition):")
sent = city.create_request("manhole", dry_run=False, confirm="SEND", api_key=key, validate_remote=True,
                           lat=37.8612, lng=112.5487, address_string="迎泽大街与并州路口",
                           description="井盖缺失，夜里很危险 (Open311 client demo)",
                           attributes={"danger": "yes"}, email="demo@example.cn")
print("   form sent:", sent.redacted_form())
print("   answer:", sent.response)
rid = sent.response[0]["service_request_id"]

print(f"\n3. civicbot get_request({rid!r}) (JSON):")
r = city.get_request(rid)
for k in ("service_request_id", "status", "status_notes", "service_code", "service_name",
          "agency_responsible", "requested_datetime", "expected_datetime", "address",
          "address_id", "lat", "long"):
    print(f"   {k:<19} {r[k]}")
x = xml.get_service_request(rid)
print(f"   georeport get_service_request (XML): {x['service_request_id']} status={x['status']} "
      f"requested={x['requested_datetime']}")
mine = [q["service_request_id"] for q in city.list_requests(service_code="manhole", status="open")]
print(f"   civicbot list_requests(service_code='manhole', status='open'): {len(mine)} open, ours listed: {rid in mine}")
EOF
