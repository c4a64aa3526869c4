package devserver

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"

	"go.temporal.io/server/common/persistence"
	// The SQLite plugin registers the modernc.org/sqlite driver as "sqlite".
	_ "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	"go.temporal.io/server/schema"
)

// schemaFiles are the SQLite schema scripts of the server version linked
// into this binary, the same ones the server's own setup helpers run.
var schemaFiles = []string{
	"sqlite/v3/temporal/schema.sql",
	"sqlite/v3/visibility/schema.sql",
}

var createTableRE = regexp.MustCompile(`(?i)^\s*create\s+(?:virtual\s+)?table\s+(?:if\s+not\s+exists\s+)?["\x60]?(\w+)`)

// schemaStatements returns the schema's SQL statements in order and the
// sorted names of the tables they create.
func schemaStatements() (statements, tables []string, err error) {
	readers := make([]io.Reader, 0, len(schemaFiles))
	for _, name := range schemaFiles {
		f, err := schema.Assets().Open(name)
		if err != nil {
			return nil, nil, fmt.Errorf("devserver: embedded schema %q: %w", name, err)
		}
		defer func() { _ = f.Close() }()
		readers = append(readers, f)
	}
	statements, err = persistence.LoadAndSplitQueryFromReaders(readers)
	if err != nil {
		return nil, nil, fmt.Errorf("devserver: embedded schema: %w", err)
	}
	for _, stmt := range statements {
		if m := createTableRE.FindStringSubmatch(stmt); m != nil {
			tables = append(tables, strings.ToLower(m[1]))
		}
	}
	slices.Sort(tables)
	return statements, tables, nil
}

// prepareDatabase makes sure the SQLite file at path holds the Temporal
// schema of this server version. A missing or empty file gets the whole
// schema in one transaction, so a start that is interrupted leaves either no
// schema or all of it. A file that already has tables is checked, not
// changed: every table of the schema must be there. It reports whether the
// schema was created.
func prepareDatabase(ctx context.Context, path string) (created bool, err error) {
	statements, want, err := schemaStatements()
	if err != nil {
		return false, err
	}
	// busy_timeout: wait for, rather than fail on, a lock still held by a
	// process that is finishing; the server lock makes this rare.
	db, err := sql.Open("sqlite", "file:"+path+"?mode=rwc&_pragma=busy_timeout(10000)")
	if err != nil {
		return false, optionError("DBPath", path, err, "cannot be opened: %v", err)
	}
	defer func() { _ = db.Close() }()
	conn, err := db.Conn(ctx)
	if err != nil {
		return false, optionError("DBPath", path, err, "cannot be opened: %v", err)
	}
	defer func() { _ = conn.Close() }()

	have, err := tableNames(ctx, conn)
	if err != nil {
		return false, optionError("DBPath", path, err, "cannot be read as an SQLite database (%v): give a Temporal SQLite file or a path that does not exist yet", err)
	}
	if len(have) == 0 {
		if err := applySchema(ctx, conn, statements); err != nil {
			return false, optionError("DBPath", path, err, "cannot take the Temporal schema: %v", err)
		}
		created = true
		if have, err = tableNames(ctx, conn); err != nil {
			return false, optionError("DBPath", path, err, "cannot be read back after creating the schema: %v", err)
		}
	}
	var missing []string
	for _, t := range want {
		if _, ok := slices.BinarySearch(have, t); !ok {
			missing = append(missing, t)
		}
	}
	if len(missing) > 0 {
		return false, optionError("DBPath", path, nil, "is not a Temporal database of this server version: it lacks the tables %s; it may come from another program or another Temporal version, which this server cannot migrate: move the file away or choose another database file", strings.Join(missing, ", "))
	}
	return created, nil
}

// tableNames lists the tables of the database, lower-cased and sorted.
func tableNames(ctx context.Context, conn *sql.Conn) ([]string, error) {
	rows, err := conn.QueryContext(ctx, `SELECT lower(name) FROM sqlite_master WHERE type = 'table' ORDER BY 1`)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	var names []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, err
		}
		names = append(names, name)
	}
	return names, rows.Err()
}

// applySchema runs the statements in one write transaction.
func applySchema(ctx context.Context, conn *sql.Conn, statements []string) (err error) {
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			// Use a fresh context: ctx may be what failed.
			if _, rerr := conn.ExecContext(context.Background(), "ROLLBACK"); rerr != nil {
				err = errors.Join(err, fmt.Errorf("rollback: %w", rerr))
			}
		}
	}()
	for _, stmt := range statements {
		if _, err := conn.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("statement %.60q: %w", stmt, err)
		}
	}
	_, err = conn.ExecContext(ctx, "COMMIT")
	return err
}
