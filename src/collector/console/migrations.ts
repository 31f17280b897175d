/**
 * Schema of the console's own tables (accounts, sessions, audit log, policy revisions,
 * 媒体管理台帳, 例外措置, report snapshots, forwarders), in SQL that runs unchanged on SQLite and
 * PostgreSQL: TEXT for ISO times and JSON, INTEGER for booleans, `?` placeholders elsewhere.
 * Steps are applied in order at plugin start and recorded in console_migrations; a released
 * step is never edited — add a new one.
 */
import type { SqlRunner } from '../store/sql.js';

export interface ConsoleMigration {
  version: number;
  name: string;
  /** Statements separated by ";" at the end of a line. */
  sql: string;
}

export const CONSOLE_MIGRATIONS: readonly ConsoleMigration[] = [
  {
    version: 1,
    name: 'accounts, sessions, api tokens, audit log',
    sql: `
      CREATE TABLE console_users (
        id TEXT PRIMARY KEY,
        username TEXT NOT NULL UNIQUE,
        display_name TEXT NOT NULL,
        role TEXT NOT NULL,
        departments_json TEXT NOT NULL,
        password_hash TEXT NOT NULL,
        must_change_password INTEGER NOT NULL,
        failed_logins INTEGER NOT NULL,
        locked_until TEXT,
        disabled_at TEXT,
        created_at TEXT NOT NULL,
        created_by TEXT NOT NULL,
        password_changed_at TEXT NOT NULL
      );
      CREATE TABLE console_sessions (
        id_hash TEXT PRIMARY KEY,
        user_id TEXT NOT NULL,
        csrf_token TEXT NOT NULL,
        created_at TEXT NOT NULL,
        last_seen_at TEXT NOT NULL,
        expires_at TEXT NOT NULL
      );
      CREATE INDEX console_sessions_user ON console_sessions (user_id);
      CREATE TABLE console_api_tokens (
        id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL,
        secret_hash TEXT NOT NULL,
        name TEXT NOT NULL,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        revoked_at TEXT
      );
      CREATE TABLE console_audit (
        seq INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        role TEXT NOT NULL,
        action TEXT NOT NULL,
        target TEXT NOT NULL,
        detail_json TEXT NOT NULL,
        ip TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
      )
    `,
  },
  {
    version: 2,
    name: 'policy revisions, pc assignments, violation notes, media ledger, exceptions',
    sql: `
      CREATE TABLE console_policy_revisions (
        version INTEGER PRIMARY KEY,
        created_at TEXT NOT NULL,
        created_by TEXT NOT NULL,
        comment TEXT NOT NULL,
        settings_json TEXT NOT NULL
      );
      CREATE TABLE console_state (
        name TEXT PRIMARY KEY,
        value TEXT NOT NULL
      );
      CREATE TABLE console_pc_assignments (
        agent_id TEXT PRIMARY KEY,
        department TEXT,
        group_name TEXT,
        updated_at TEXT NOT NULL,
        updated_by TEXT NOT NULL
      );
      CREATE TABLE console_violation_notes (
        id TEXT PRIMARY KEY,
        agent_id TEXT NOT NULL,
        rule_id TEXT NOT NULL,
        subject TEXT NOT NULL,
        kind TEXT NOT NULL,
        author TEXT NOT NULL,
        at TEXT NOT NULL,
        text TEXT NOT NULL
      );
      CREATE INDEX console_violation_notes_key ON console_violation_notes (agent_id, rule_id, subject);
      CREATE TABLE console_media (
        id TEXT PRIMARY KEY,
        sticker_no TEXT NOT NULL UNIQUE,
        fingerprint TEXT NOT NULL,
        vendor_id TEXT NOT NULL,
        product_id TEXT NOT NULL,
        serial TEXT,
        label TEXT NOT NULL,
        owner TEXT NOT NULL,
        department TEXT NOT NULL,
        encryption TEXT NOT NULL,
        status TEXT NOT NULL,
        note TEXT NOT NULL,
        registered_by TEXT NOT NULL,
        registered_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );
      CREATE INDEX console_media_fingerprint ON console_media (fingerprint);
      CREATE TABLE console_media_loans (
        id TEXT PRIMARY KEY,
        media_id TEXT NOT NULL,
        borrower TEXT NOT NULL,
        department TEXT NOT NULL,
        purpose TEXT NOT NULL,
        lent_at TEXT NOT NULL,
        lent_by TEXT NOT NULL,
        due_at TEXT,
        returned_at TEXT,
        returned_by TEXT
      );
      CREATE INDEX console_media_loans_media ON console_media_loans (media_id);
      CREATE TABLE console_exceptions (
        id TEXT PRIMARY KEY,
        rule_id TEXT NOT NULL,
        subject TEXT NOT NULL,
        agent_id TEXT,
        reason TEXT NOT NULL,
        requested_by TEXT NOT NULL,
        requested_at TEXT NOT NULL,
        until_at TEXT NOT NULL,
        state TEXT NOT NULL,
        decided_by TEXT,
        decided_at TEXT,
        decision_comment TEXT,
        ended_at TEXT
      );
      CREATE INDEX console_exceptions_state ON console_exceptions (state, until_at)
    `,
  },
  {
    version: 3,
    name: 'report snapshots, forwarders',
    sql: `
      CREATE TABLE console_report_snapshots (
        day TEXT NOT NULL,
        department TEXT NOT NULL,
        rule_id TEXT NOT NULL,
        pass_count INTEGER NOT NULL,
        fail_count INTEGER NOT NULL,
        unknown_count INTEGER NOT NULL,
        excepted_count INTEGER NOT NULL,
        na_count INTEGER NOT NULL,
        PRIMARY KEY (day, department, rule_id)
      );
      CREATE TABLE console_forwarders (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        target TEXT NOT NULL,
        min_severity TEXT NOT NULL,
        enabled INTEGER NOT NULL,
        created_at TEXT NOT NULL,
        created_by TEXT NOT NULL
      )
    `,
  },
  {
    version: 202612062202,
    name: 'forwarder webhook secret, syslog TLS CA, start of forwarding',
    sql: `
      ALTER TABLE console_forwarders ADD COLUMN secret TEXT;
      ALTER TABLE console_forwarders ADD COLUMN ca_pem TEXT;
      ALTER TABLE console_forwarders ADD COLUMN since TEXT
    `,
  },
  {
    version: 202612061250,
    name: 'audit log MAC per row (key outside the database)',
    sql: `
      ALTER TABLE console_audit ADD COLUMN mac TEXT
    `,
  },
  {
    version: 202612061302,
    name: 'the 課 of a PC is kept on its agent record (the store filters violations by it)',
    sql: `
      UPDATE agents SET department = (SELECT department FROM console_pc_assignments WHERE agent_id = agents.id) WHERE id IN (SELECT agent_id FROM console_pc_assignments)
    `,
  },
  {
    version: 202612061311,
    name: 'the policy content each PC was given (its version moves only when that content changes)',
    sql: `
      CREATE TABLE console_policy_agents (
        agent_id TEXT PRIMARY KEY,
        content_hash TEXT NOT NULL,
        version BIGINT NOT NULL,
        revision INTEGER NOT NULL,
        updated_at TEXT NOT NULL
      )
    `,
  },
  {
    version: 202612061321,
    name: 'the site\'s own clause map for the 自己点検 report; audit log filters by actor and action',
    sql: `
      CREATE TABLE console_clause_map (
        rule_id TEXT NOT NULL,
        position INTEGER NOT NULL,
        ref TEXT NOT NULL,
        title TEXT NOT NULL,
        PRIMARY KEY (rule_id, position)
      );
      CREATE INDEX console_audit_actor ON console_audit (actor, seq);
      CREATE INDEX console_audit_action ON console_audit (action, seq);
      CREATE INDEX console_audit_at ON console_audit (at)
    `,
  },
  {
    version: 202612061401,
    name: '資産管理台帳: the latest hardware and network inventory of each PC, its addresses, its changes',
    // Only the latest inventory is kept per PC (inventory_json, with the columns the PC list
    // filters on); each hardware change is kept once (change_id from the agent). IPv4 addresses
    // are 8 hex digits so that a range is a BETWEEN on text on both stores; memory in MiB fits
    // PostgreSQL's 32-bit INTEGER.
    sql: `
      CREATE TABLE inventory_latest (
        agent_id TEXT PRIMARY KEY,
        collected_at TEXT NOT NULL,
        manufacturer TEXT,
        model TEXT,
        serial TEXT,
        os_name TEXT,
        os_version TEXT,
        os_build TEXT,
        memory_mib INTEGER,
        ipv4_text TEXT NOT NULL,
        inventory_json TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );
      CREATE INDEX inventory_latest_model ON inventory_latest (model);
      CREATE INDEX inventory_latest_os_build ON inventory_latest (os_build);
      CREATE TABLE inventory_addresses (
        agent_id TEXT NOT NULL,
        ipv4_hex TEXT NOT NULL,
        PRIMARY KEY (agent_id, ipv4_hex)
      );
      CREATE INDEX inventory_addresses_ip ON inventory_addresses (ipv4_hex);
      CREATE TABLE inventory_changes (
        agent_id TEXT NOT NULL,
        change_id TEXT NOT NULL,
        at TEXT NOT NULL,
        kind TEXT NOT NULL,
        subject TEXT NOT NULL,
        before_value TEXT,
        after_value TEXT,
        recorded_at TEXT NOT NULL,
        PRIMARY KEY (agent_id, change_id)
      );
      CREATE INDEX inventory_changes_agent_at ON inventory_changes (agent_id, at)
    `,
  },
];

/**
 * Apply the console steps not yet recorded in console_migrations, in one transaction. On
 * PostgreSQL several collector nodes may start at the same moment: a transaction-scoped
 * advisory lock makes them take turns (CREATE TABLE IF NOT EXISTS alone still races on the
 * catalogue, "duplicate key … pg_type_typname_nsp_index").
 */
export async function migrateConsole(sql: SqlRunner): Promise<number[]> {
  return sql.transaction(async (tx) => {
    if (tx.dialect === 'postgres') await tx.get("SELECT pg_advisory_xact_lock(hashtext('mamori.console.migrations'))");
    await tx.run('CREATE TABLE IF NOT EXISTS console_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)');
    // Versions are dated (YYYYMMDDnnnn), past PostgreSQL's 32-bit INTEGER of the first release
    // of this table; SQLite's INTEGER is already 64-bit.
    if (tx.dialect === 'postgres') await tx.run('ALTER TABLE console_migrations ALTER COLUMN version TYPE BIGINT');
    const done = new Set((await tx.all<{ version: number }>('SELECT version FROM console_migrations')).map((r) => Number(r.version)));
    const applied: number[] = [];
    for (const step of CONSOLE_MIGRATIONS) {
      if (done.has(step.version)) continue;
      for (const statement of step.sql.split(/;\s*\n/).map((s) => s.trim()).filter(Boolean)) await tx.run(statement);
      await tx.run('INSERT INTO console_migrations (version, name, applied_at) VALUES (?, ?, ?)', [step.version, step.name, new Date().toISOString()]);
      applied.push(step.version);
    }
    return applied;
  });
}
