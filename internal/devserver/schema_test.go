package devserver

import (
	"context"
	"database/sql"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func openSQLite(t *testing.T, path string) *sql.Conn {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=rwc")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

func TestPrepareDatabaseCreatesOnceThenReuses(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "temporal.db")
	_, want, err := schemaStatements()
	if err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"executions", "namespaces", "cluster_membership", "executions_visibility"} {
		if !slices.Contains(want, table) {
			t.Fatalf("schema tables: got: %v want: them to include %q", want, table)
		}
	}
	for i, wantCreated := range []bool{true, false} {
		created, err := prepareDatabase(ctx, path)
		if err != nil {
			t.Fatalf("prepareDatabase #%d: %v", i+1, err)
		}
		if created != wantCreated {
			t.Errorf("prepareDatabase #%d created: got: %v want: %v", i+1, created, wantCreated)
		}
	}
	have, err := tableNames(ctx, openSQLite(t, path))
	if err != nil {
		t.Fatal(err)
	}
	for _, table := range want {
		if !slices.Contains(have, table) {
			t.Errorf("tables after prepareDatabase: got: %v want: %q among them", have, table)
		}
	}
}

func TestApplySchemaIsAllOrNothing(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "temporal.db")
	statements, _, err := schemaStatements()
	if err != nil {
		t.Fatal(err)
	}
	conn := openSQLite(t, path)
	// A schema that fails on its last statement, as if the process had died
	// there, must leave no table behind.
	broken := append(append([]string{}, statements...), "CREATE TABLE broken (")
	if err := applySchema(ctx, conn, broken); err == nil {
		t.Fatal("applySchema with a broken statement: got: nil error want: an error")
	}
	have, err := tableNames(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	if len(have) != 0 {
		t.Errorf("tables after a failed applySchema: got: %v want: none", have)
	}
	// And the next start creates the whole schema.
	if created, err := prepareDatabase(ctx, path); err != nil || !created {
		t.Errorf("prepareDatabase after a failed schema: got: created=%v err=%v want: created=true err=nil", created, err)
	}
}

func TestPrepareDatabaseRefusesForeignDatabase(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "results.db")
	conn := openSQLite(t, path)
	if _, err := conn.ExecContext(ctx, `CREATE TABLE points (id INTEGER PRIMARY KEY, value REAL)`); err != nil {
		t.Fatal(err)
	}
	_, err := prepareDatabase(ctx, path)
	if err == nil {
		t.Fatal("prepareDatabase on a foreign database: got: nil error want: an error")
	}
	for _, want := range []string{"Options.DBPath", path, "not a Temporal database", "namespaces"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error: got: %q want: it to contain %q", err, want)
		}
	}
	// Nothing was added to the foreign file.
	have, err := tableNames(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(have, ","); got != "points" {
		t.Errorf("tables of the foreign file: got: %s want: points", got)
	}
}
