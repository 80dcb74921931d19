"""Make Tests/Fixtures/report/newer-schema.sqlite: a results database "written by a newer RadProbe".

It holds only GRDB's migration table listing the schema versions v1, v2 and an unknown v99, which
`ResultsDatabase` must refuse (naming v99) and leave untouched; `radprobe report` tests use it.

Run with Debian's python3 (its sqlite3 module):  python3 scripts/make_report_schema_fixture.py
"""
import os
import sqlite3

PATH = os.path.join(os.path.dirname(__file__), "..", "Tests", "Fixtures", "report", "newer-schema.sqlite")


def main():
    if os.path.exists(PATH):
        os.remove(PATH)
    connection = sqlite3.connect(PATH)
    connection.execute("CREATE TABLE grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY)")
    connection.executemany("INSERT INTO grdb_migrations VALUES (?)", [("v1",), ("v2",), ("v99",)])
    connection.commit()
    connection.close()


if __name__ == "__main__":
    main()
