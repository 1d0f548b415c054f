// `import PlugHost` gives the whole embedding surface: the core (values, plugins, calls), the
// memory system and the embedded SQLite engine.
@_exported import PlugHostCore
@_exported import PlugHostMemory
@_exported import PlugHostSQLite
