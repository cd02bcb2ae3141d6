"""On PostgreSQL the database itself refuses to change or delete an audit row, whoever asks.

The one change it lets through is the one Django's SET_NULL makes when a user is deleted: the actor
cleared, every other column as it was. SQLite (development) relies on the model's guards alone.
"""

from django.db import migrations

COLUMNS = "id, action, object_type, object_id, scan_id, detail, path, ip_address, user_agent, created_at"
CREATE = f"""
CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.actor_id IS NOT NULL AND NEW.actor_id IS NULL
       AND ROW({", ".join("NEW." + c for c in COLUMNS.split(", "))})
           IS NOT DISTINCT FROM ROW({", ".join("OLD." + c for c in COLUMNS.split(", "))}) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit events are append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_auditevent
    FOR EACH ROW EXECUTE FUNCTION audit_event_append_only();
"""
DROP = """
DROP TRIGGER IF EXISTS audit_event_append_only ON audit_auditevent;
DROP FUNCTION IF EXISTS audit_event_append_only();
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]
    operations = [migrations.RunPython(create, drop, elidable=False)]
