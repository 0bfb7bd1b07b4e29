"""Account name search for short substrings: a GIN index over the name's characters and
character bigrams.

pg_trgm's trigram index cannot serve a substring shorter than three characters, and Chinese
company names are searched by two-character words (电子, 航天). pg_bigm would, but it is not
shipped with PostgreSQL's contrib modules (nor with the embedded distribution). So the name's
lower-cased characters and bigrams go into an array (an IMMUTABLE SQL function), indexed with
GIN; a search for `t` asks for the rows whose array holds every bigram of `t` (its character,
when `t` is one character long) and keeps the ILIKE as the exact check. Lower-casing with
`lower()` folds the same way ILIKE does, so every row the ILIKE accepts is found. The index
leads with the region (btree_gin), the usual companion filter; searches without one use the
grams alone.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE FUNCTION account_name_grams(name text) RETURNS text[]
        LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
            SELECT coalesce(array_agg(DISTINCT gram), '{}')
            FROM lower(name) AS folded,
                 LATERAL (SELECT substr(folded, i, 1) FROM generate_series(1, length(folded)) i
                          UNION ALL
                          SELECT substr(folded, i, 2)
                          FROM generate_series(1, length(folded) - 1) i) AS grams(gram)
        $$;
        COMMENT ON FUNCTION account_name_grams(text) IS
            'The lower-cased characters and character bigrams of an account name (indexed).';

        CREATE FUNCTION account_name_search_grams(term text) RETURNS text[]
        LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
            SELECT CASE WHEN length(folded) < 2 THEN ARRAY[folded]
                        ELSE ARRAY(SELECT DISTINCT substr(folded, i, 2)
                                   FROM generate_series(1, length(folded) - 1) i) END
            FROM lower(term) AS folded
        $$;
        COMMENT ON FUNCTION account_name_search_grams(text) IS
            'What account_name_grams(name) must contain for name to contain term (any case).';
        """
    )
    # Region first (btree_gin): a region's search and its count intersect the region's and the
    # bigrams' posting lists inside one index instead of reading a whole region from another.
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gin")
    op.execute("CREATE INDEX ix_accounts_name_grams ON accounts "
               "USING gin (region, account_name_grams(name))")


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_accounts_name_grams")
    op.execute("DROP FUNCTION IF EXISTS account_name_search_grams(text)")
    op.execute("DROP FUNCTION IF EXISTS account_name_grams(text)")
