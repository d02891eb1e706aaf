"""Run by the Python of a venv with Superset (tests/test_superset_recipe.py), not by the tests' own:
set up a Superset home (its metadata database, an admin), then add the published warehouse as a
user does in Superset's "Connect a database" form, through the same REST API its pages call, and
print what Superset shows as JSON.

    python superset_check.py SUPERSET_HOME SQLALCHEMY_URI
"""

import json
import os
import subprocess
import sys
import urllib.parse
from pathlib import Path

home, uri = Path(sys.argv[1]), sys.argv[2]
home.mkdir(parents=True, exist_ok=True)
(home / "superset_config.py").write_text(
    f"SECRET_KEY = 'journeys-recipe-check-{os.getpid()}-0123456789abcdef'\n"
    f"SQLALCHEMY_DATABASE_URI = 'sqlite:///{home / 'superset.db'}'\n")
env = {**os.environ, "SUPERSET_CONFIG_PATH": str(home / "superset_config.py"), "SUPERSET_HOME": str(home)}
os.environ.update(env)
superset = Path(sys.executable).parent / "superset"
for command in (["db", "upgrade"], ["fab", "create-admin", "--username", "admin", "--firstname", "a", "--lastname", "b",
                                    "--email", "admin@example.invalid", "--password", "admin"], ["init"]):
    done = subprocess.run([str(superset), *command], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"superset {' '.join(command)} failed:\n{done.stderr[-3000:]}")

from superset.app import create_app  # noqa: E402

client = create_app().test_client()
token = client.post("/api/v1/security/login", json={"username": "admin", "password": "admin", "provider": "db",
                                                    "refresh": False}).json["access_token"]
auth = {"Authorization": f"Bearer {token}"}
auth["X-CSRFToken"] = client.get("/api/v1/security/csrf_token/", headers=auth).json["result"]  # as the pages send it
out = {}

tested = client.post("/api/v1/database/test_connection/", json={"database_name": "journeys", "sqlalchemy_uri": uri},
                     headers=auth)
out["test_connection"] = [tested.status_code, tested.json.get("message")]
created = client.post("/api/v1/database/", json={"database_name": "journeys", "sqlalchemy_uri": uri,
                                                 "expose_in_sqllab": True}, headers=auth)
if created.status_code != 201:
    sys.exit(f"adding the database failed: {created.status_code} {created.json}")
database = created.json["id"]
out["schemas"] = client.get(f"/api/v1/database/{database}/schemas/", headers=auth).json["result"]
marts = urllib.parse.quote("(schema_name:'warehouse.marts')")
out["marts"] = sorted(t["value"] for t in client.get(f"/api/v1/database/{database}/tables/?q={marts}",
                                                      headers=auth).json["result"])
for table in ("journey_map", "journeys"):
    meta = client.get(f"/api/v1/database/{database}/table_metadata/?name={table}&schema=warehouse.marts",
                      headers=auth).json
    out[table] = {"comment": meta["comment"], "columns": {c["name"]: [c["type"], c["comment"]] for c in meta["columns"]}}

dataset = client.post("/api/v1/dataset/", json={"database": database, "schema": "warehouse.marts",
                                                "table_name": "journeys"}, headers=auth).json["id"]
described = client.get(f"/api/v1/dataset/{dataset}", headers=auth).json["result"]
out["dataset"] = {"description": described["description"],
                  "columns": {c["column_name"]: [c["type"], c["description"]] for c in described["columns"]}}


def sql_lab(sql: str) -> dict:
    done = client.post("/api/v1/sqllab/execute/", json={"database_id": database, "sql": sql, "runAsync": False},
                       headers=auth)
    body = done.json
    if done.status_code == 200:
        return {"data": body["data"]}
    return {"status": done.status_code, "errors": [e.get("error_type") for e in body.get("errors", [])],
            "messages": [e.get("message") for e in body.get("errors", [])]}


out["query"] = sql_lab("select count(*) as n from marts.journeys")
out["write"] = sql_lab("create table marts.written as select 1 as x")
# an administrator who allows DML on the database: DuckDB itself refuses, the file is opened read-only
client.put(f"/api/v1/database/{database}", json={"allow_dml": True}, headers=auth)
out["write_with_dml_allowed"] = sql_lab("create table marts.written as select 1 as x")
print(json.dumps(out))
