import GRDB
import GRDBSQLite

func _sqliteProbe() -> String { String(cString: sqlite3_libversion()) }
