"""The SQL registry store: tables, migrations, search compilation and the store itself."""
