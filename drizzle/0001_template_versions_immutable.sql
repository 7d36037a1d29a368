-- A published template version is immutable: messages point at the exact version they were
-- rendered from, so an edit would rewrite history. Publishing changed files makes a new row.
CREATE OR REPLACE FUNCTION template_versions_immutable() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'template version % is published and cannot be changed; publish a new version instead', OLD.id
    USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;
--> statement-breakpoint
CREATE TRIGGER template_versions_immutable
  BEFORE UPDATE OR DELETE ON template_versions
  FOR EACH ROW EXECUTE FUNCTION template_versions_immutable();
