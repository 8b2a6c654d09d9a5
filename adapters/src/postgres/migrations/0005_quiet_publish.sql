-- Version 5: the publish wake-up fires only when a statement inserted task rows. Statement-level
-- triggers fire even for statements that insert nothing, and the commit statement (whose
-- follow-up insert is usually empty) would otherwise wake every idle fetcher on each commit.
CREATE FUNCTION stem_notify_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM inserted) THEN
        PERFORM pg_notify(TG_TABLE_SCHEMA, TG_TABLE_NAME);
    END IF;
    RETURN NULL;
END
$$;
DROP TRIGGER tasks_published ON tasks;
CREATE TRIGGER tasks_published AFTER INSERT ON tasks
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION stem_notify_inserted();
