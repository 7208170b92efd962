"""Exit 0 when the PostgreSQL server of the URI answers (make test)."""
import sys

try:
    import psycopg
except ImportError:
    sys.exit(1)

uri = sys.argv[1] if len(sys.argv) > 1 else 'postgresql://127.0.0.1/'
try:
    psycopg.connect(
        uri.rstrip('/') + '/postgres', connect_timeout=5).close()
except psycopg.Error as exception:
    print(f"PostgreSQL: {exception}", file=sys.stderr)
    sys.exit(1)
