/**
 * Schema migrations of both stores, from one list: each step has its SQLite and its
 * PostgreSQL text. Steps are applied in order and recorded in schema_migrations; a step is
 * never edited once released — add a new one.
 *
 * The PostgreSQL text uses the same column types as SQLite (TEXT for ISO 8601 times and for
 * JSON, INTEGER 0/1 for booleans, BIGINT for sequence numbers) so that the portable SQL of
 * the console (sql.ts) reads and compares them the same way on both.
 */
import { FORWARDING_MIGRATION_SQL } from './forwarding.js';
import { OPEN_VIOLATION_COUNTS_POSTGRES, OPEN_VIOLATION_COUNTS_SQLITE } from './open-violation-counts.js';
import { RULE_RESULT_COUNTS_POSTGRES, RULE_RESULT_COUNTS_SQLITE } from './rule-result-counts.js';
import { VIOLATIONS_TEXT_SQLITE } from './sqlite/text-search.js';
import { VIOLATION_DIGEST_SQLITE } from './sqlite/violation-batch.js';
import { VIOLATION_DAYS_POSTGRES, VIOLATION_DAYS_SQLITE } from './violation-days.js';

/** The daily trends group by day, kind and PC: the day's indexes hold all three. */
const REPORT_INDEXES_SQL = `
  CREATE INDEX rule_results_rule_result ON rule_results (rule_id, result, agent_id);
  DROP INDEX violations_opened;
  DROP INDEX violations_closed;
  CREATE INDEX violations_opened ON violations (opened_at, check_id, agent_id);
  CREATE INDEX violations_closed ON violations (closed_at, check_id, agent_id);
`;

/** violation-query.ts orders by the same expression (with the table's alias). */
const SEVERITY_RANK_INDEX_SQL = "CASE severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 WHEN 'low' THEN 3 ELSE 4 END";

export interface Migration {
  version: number;
  name: string;
  sqlite: string;
  postgres: string;
}

/** The same text on both stores (TEXT columns only). */
const CLUSTER_IDENTITY_SQL = `
  CREATE TABLE cluster_identity (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    recorded_by TEXT NOT NULL
  );
`;

/** Agent packages administrators uploaded and their rollouts, per PC (src/collector/updates). Same text on both stores. */
const AGENT_UPDATES_SQL = `
  CREATE TABLE agent_packages (
    id TEXT PRIMARY KEY,
    platform TEXT NOT NULL,
    version TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    signature TEXT NOT NULL,
    file TEXT NOT NULL,
    uploaded_at TEXT NOT NULL,
    uploaded_by TEXT NOT NULL,
    UNIQUE (platform, version)
  );
  CREATE TABLE agent_update_installers (
    agent_id TEXT PRIMARY KEY,
    platform TEXT,
    version TEXT NOT NULL,
    at TEXT NOT NULL
  );
  CREATE TABLE agent_rollouts (
    id TEXT PRIMARY KEY,
    package_id TEXT NOT NULL,
    selection TEXT NOT NULL,
    deadline_seconds INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL
  );
  CREATE TABLE agent_rollout_pcs (
    rollout_id TEXT NOT NULL,
    agent_id TEXT NOT NULL,
    state TEXT NOT NULL,
    from_version TEXT,
    rollback_package_id TEXT,
    token_hash TEXT NOT NULL,
    reason TEXT,
    changed_at TEXT NOT NULL,
    PRIMARY KEY (rollout_id, agent_id)
  );
  CREATE INDEX agent_rollout_pcs_agent ON agent_rollout_pcs (agent_id, state);
`;

const ENROLLMENT_REFUSALS_SQL = `
  CREATE TABLE enrollment_refusals (
    address TEXT NOT NULL,
    hostname TEXT NOT NULL,
    reason TEXT NOT NULL,
    stage TEXT NOT NULL,
    token_id TEXT,
    attempts INTEGER NOT NULL,
    first_at TEXT NOT NULL,
    last_at TEXT NOT NULL,
    PRIMARY KEY (address, hostname, reason)
  );
  CREATE INDEX enrollment_refusals_last ON enrollment_refusals (last_at);
`;

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 202611230001,
    name: 'agents, tokens, events, violations',
    sqlite: `
      CREATE TABLE enrollment_tokens (
        id TEXT PRIMARY KEY,
        secret_hash TEXT NOT NULL,
        segment TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        single_use INTEGER NOT NULL,
        used_count INTEGER NOT NULL DEFAULT 0,
        revoked_at TEXT,
        created_at TEXT NOT NULL,
        note TEXT
      );
      CREATE TABLE agents (
        id TEXT PRIMARY KEY,
        secret TEXT NOT NULL,
        hostname TEXT NOT NULL,
        os_json TEXT NOT NULL,
        agent_version TEXT NOT NULL,
        segment TEXT NOT NULL,
        department TEXT,
        enrolled_at TEXT NOT NULL,
        last_seen_at TEXT,
        online INTEGER NOT NULL DEFAULT 0,
        node_id TEXT,
        revoked_at TEXT,
        last_seq INTEGER NOT NULL DEFAULT 0,
        policy_version INTEGER NOT NULL DEFAULT 0,
        token_id TEXT
      );
      CREATE TABLE events (
        agent_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        kind TEXT NOT NULL,
        at TEXT NOT NULL,
        received_at TEXT NOT NULL,
        payload TEXT NOT NULL,
        PRIMARY KEY (agent_id, seq)
      );
      CREATE INDEX events_received ON events (received_at);
      CREATE TABLE violations (
        agent_id TEXT NOT NULL,
        rule_id TEXT NOT NULL,
        subject TEXT NOT NULL,
        check_id TEXT NOT NULL,
        state TEXT NOT NULL,
        result TEXT NOT NULL,
        severity TEXT NOT NULL,
        title_json TEXT NOT NULL,
        message_json TEXT NOT NULL,
        reason TEXT NOT NULL,
        clauses_json TEXT NOT NULL,
        facts_json TEXT NOT NULL,
        user_name TEXT,
        opened_at TEXT NOT NULL,
        closed_at TEXT,
        closed_reason TEXT,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (agent_id, rule_id, subject)
      );
      CREATE INDEX violations_state ON violations (state, updated_at);
      CREATE TABLE rule_results (
        agent_id TEXT NOT NULL,
        rule_id TEXT NOT NULL,
        check_id TEXT NOT NULL,
        result TEXT NOT NULL,
        reason TEXT NOT NULL,
        at TEXT NOT NULL,
        PRIMARY KEY (agent_id, rule_id)
      );
      CREATE TABLE facts_latest (
        agent_id TEXT NOT NULL,
        check_id TEXT NOT NULL,
        status TEXT NOT NULL,
        facts_json TEXT NOT NULL,
        at TEXT NOT NULL,
        PRIMARY KEY (agent_id, check_id)
      );
      CREATE TABLE scan_requests (
        id TEXT PRIMARY KEY,
        agent_id TEXT NOT NULL,
        checks_json TEXT NOT NULL,
        requested_by TEXT NOT NULL,
        requested_at TEXT NOT NULL,
        state TEXT NOT NULL,
        sent_at TEXT,
        completed_at TEXT,
        result_json TEXT
      );
      CREATE INDEX scan_requests_agent ON scan_requests (agent_id, state);
    `,
    postgres: `
      CREATE TABLE enrollment_tokens (
        id TEXT PRIMARY KEY,
        secret_hash TEXT NOT NULL,
        segment TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        single_use INTEGER NOT NULL,
        used_count INTEGER NOT NULL DEFAULT 0,
        revoked_at TEXT,
        created_at TEXT NOT NULL,
        note TEXT
      );
      CREATE TABLE agents (
        id TEXT PRIMARY KEY,
        secret TEXT NOT NULL,
        hostname TEXT NOT NULL,
        os_json TEXT NOT NULL,
        agent_version TEXT NOT NULL,
        segment TEXT NOT NULL,
        department TEXT,
        enrolled_at TEXT NOT NULL,
        last_seen_at TEXT,
        online INTEGER NOT NULL DEFAULT 0,
        node_id TEXT,
        revoked_at TEXT,
        last_seq BIGINT NOT NULL DEFAULT 0,
        policy_version INTEGER NOT NULL DEFAULT 0,
        token_id TEXT
      );
      CREATE TABLE events (
        agent_id TEXT NOT NULL,
        seq BIGINT NOT NULL,
        kind TEXT NOT NULL,
        at TEXT NOT NULL,
        received_at TEXT NOT NULL,
        payload TEXT NOT NULL,
        PRIMARY KEY (agent_id, seq)
      );
      CREATE INDEX events_received ON events (received_at);
      CREATE TABLE violations (
        agent_id TEXT NOT NULL,
        rule_id TEXT NOT NULL,
        subject TEXT NOT NULL,
        check_id TEXT NOT NULL,
        state TEXT NOT NULL,
        result TEXT NOT NULL,
        severity TEXT NOT NULL,
        title_json TEXT NOT NULL,
        message_json TEXT NOT NULL,
        reason TEXT NOT NULL,
        clauses_json TEXT NOT NULL,
        facts_json TEXT NOT NULL,
        user_name TEXT,
        opened_at TEXT NOT NULL,
        closed_at TEXT,
        closed_reason TEXT,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (agent_id, rule_id, subject)
      );
      CREATE INDEX violations_state ON violations (state, updated_at);
      CREATE TABLE rule_results (
        agent_id TEXT NOT NULL,
        rule_id TEXT NOT NULL,
        check_id TEXT NOT NULL,
        result TEXT NOT NULL,
        reason TEXT NOT NULL,
        at TEXT NOT NULL,
        PRIMARY KEY (agent_id, rule_id)
      );
      CREATE TABLE facts_latest (
        agent_id TEXT NOT NULL,
        check_id TEXT NOT NULL,
        status TEXT NOT NULL,
        facts_json TEXT NOT NULL,
        at TEXT NOT NULL,
        PRIMARY KEY (agent_id, check_id)
      );
      CREATE TABLE scan_requests (
        id TEXT PRIMARY KEY,
        agent_id TEXT NOT NULL,
        checks_json TEXT NOT NULL,
        requested_by TEXT NOT NULL,
        requested_at TEXT NOT NULL,
        state TEXT NOT NULL,
        sent_at TEXT,
        completed_at TEXT,
        result_json TEXT
      );
      CREATE INDEX scan_requests_agent ON scan_requests (agent_id, state);
    `,
  },
  {
    version: 202612010001,
    name: 'frames for agents on other collector nodes',
    // Used by the PostgreSQL cluster only (a frame too large for a NOTIFY payload); a single
    // SQLite node never writes it.
    sqlite: `
      CREATE TABLE cluster_frames (
        id TEXT PRIMARY KEY,
        agent_id TEXT NOT NULL,
        frame TEXT NOT NULL,
        created_at TEXT NOT NULL
      );
    `,
    postgres: `
      CREATE TABLE cluster_frames (
        id TEXT PRIMARY KEY,
        agent_id TEXT NOT NULL,
        frame TEXT NOT NULL,
        created_at TEXT NOT NULL
      );
    `,
  },
  {
    version: 202612061201,
    name: 'agent public keys; events an agent disowned',
    // public_key: the agent's Ed25519 key (base64 SPKI DER). Once it is set, secret is '' and
    // HMAC is refused for that agent. events_disowned: stored events above the sequence number
    // the agent itself has reached (a forged frame, or a state restored from a backup), moved
    // out of the agent's sequence and kept as evidence (AGENT-006).
    sqlite: `
      ALTER TABLE agents ADD COLUMN public_key TEXT;
      CREATE TABLE events_disowned (
        agent_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        kind TEXT NOT NULL,
        at TEXT NOT NULL,
        received_at TEXT NOT NULL,
        payload TEXT NOT NULL,
        disowned_at TEXT NOT NULL
      );
      CREATE INDEX events_disowned_agent ON events_disowned (agent_id, seq);
    `,
    postgres: `
      ALTER TABLE agents ADD COLUMN public_key TEXT;
      CREATE TABLE events_disowned (
        agent_id TEXT NOT NULL,
        seq BIGINT NOT NULL,
        kind TEXT NOT NULL,
        at TEXT NOT NULL,
        received_at TEXT NOT NULL,
        payload TEXT NOT NULL,
        disowned_at TEXT NOT NULL
      );
      CREATE INDEX events_disowned_agent ON events_disowned (agent_id, seq);
    `,
  },
  {
    version: 202612061901,
    name: 'identity of the collector cluster (CA and policy key fingerprints)',
    // Written by the first node that starts on a PostgreSQL database; every later node compares
    // its own TLS material with it (src/collector/cluster/identity.ts). Public values only.
    sqlite: CLUSTER_IDENTITY_SQL,
    postgres: CLUSTER_IDENTITY_SQL,
  },
  {
    version: 202612062201,
    name: 'forwarder cursors, leases and the collector-raised events they deliver',
    sqlite: FORWARDING_MIGRATION_SQL,
    postgres: FORWARDING_MIGRATION_SQL,
  },
  {
    version: 202612061301,
    name: 'indexes for filtering and paging violations in the console',
    sqlite: `
      CREATE INDEX violations_state_opened ON violations (state, opened_at);
      CREATE INDEX violations_check_state ON violations (check_id, state);
      CREATE INDEX violations_rule_state ON violations (rule_id, state);
      CREATE INDEX violations_agent_state ON violations (agent_id, state);
      CREATE INDEX agents_department ON agents (department);
    `,
    postgres: `
      CREATE INDEX violations_state_opened ON violations (state, opened_at);
      CREATE INDEX violations_check_state ON violations (check_id, state);
      CREATE INDEX violations_rule_state ON violations (rule_id, state);
      CREATE INDEX violations_agent_state ON violations (agent_id, state);
      CREATE INDEX agents_department ON agents (department);
    `,
  },
  {
    version: 202612061310,
    name: 'indexes for searching, filtering and paging PCs in the console',
    // ORDER BY LOWER(hostname) of 端末一覧 reads the expression index; rule_results by PC and
    // result answers the compliance filter; violations by PC and state counts open violations.
    sqlite: `
      CREATE INDEX agents_hostname_lower ON agents (LOWER(hostname));
      CREATE INDEX agents_segment ON agents (segment);
      CREATE INDEX agents_last_seen ON agents (last_seen_at);
      CREATE INDEX rule_results_agent_result ON rule_results (agent_id, result);
    `,
    postgres: `
      CREATE INDEX agents_hostname_lower ON agents (LOWER(hostname));
      CREATE INDEX agents_segment ON agents (segment);
      CREATE INDEX agents_last_seen ON agents (last_seen_at);
      CREATE INDEX rule_results_agent_result ON rule_results (agent_id, result);
    `,
  },
  {
    version: 202612061312,
    name: 'the 課 an enrollment token gives the PCs that enroll with it',
    sqlite: 'ALTER TABLE enrollment_tokens ADD COLUMN department TEXT;',
    postgres: 'ALTER TABLE enrollment_tokens ADD COLUMN department TEXT;',
  },
  {
    version: 202612061320,
    name: 'indexes for the daily trends of the console overview (violations opened and closed per day)',
    sqlite: `
      CREATE INDEX violations_opened ON violations (opened_at);
      CREATE INDEX violations_closed ON violations (closed_at);
    `,
    postgres: `
      CREATE INDEX violations_opened ON violations (opened_at);
      CREATE INDEX violations_closed ON violations (closed_at);
    `,
  },
  {
    version: 202612061330,
    name: 'rule results keep their reason as a message, for the console in either language',
    // JSON of src/shared/i18n Msg; NULL for results of agents that send only the Japanese text.
    sqlite: 'ALTER TABLE rule_results ADD COLUMN reason_msg TEXT;',
    postgres: 'ALTER TABLE rule_results ADD COLUMN reason_msg TEXT;',
  },
  {
    version: 202612063301,
    name: 'violations keep their reason and the reason they were closed as messages, for the console in either language',
    // JSON of src/shared/i18n Msg; NULL for violations of agents that send only the Japanese text.
    sqlite: 'ALTER TABLE violations ADD COLUMN reason_msg TEXT; ALTER TABLE violations ADD COLUMN closed_reason_msg TEXT;',
    postgres: 'ALTER TABLE violations ADD COLUMN reason_msg TEXT; ALTER TABLE violations ADD COLUMN closed_reason_msg TEXT;',
  },
  {
    version: 202612061701,
    name: 'enrollment attempts the collector refused (PC name and address)',
    // src/collector/enrollment/refusals.ts: one row per address, host name and reason.
    sqlite: ENROLLMENT_REFUSALS_SQL,
    postgres: ENROLLMENT_REFUSALS_SQL,
  },
  {
    version: 202612063101,
    name: 'index for the first page of the console violation list, its text search and the overview counts at a city size',
    // The default order of the list (violation-query.ts: severity rank, newest first, key) read
    // from an index instead of sorting every open violation; with the user's name it also holds
    // every column the text search matches, so a search reads this index, not every whole row
    // (severity itself too: PostgreSQL reads an index alone only when it holds the columns the
    // expression is computed from), and with the check the 概要 counts open violations per 課,
    // kind and severity from it.
    sqlite: `
      CREATE INDEX violations_page_severity ON violations (state, (${SEVERITY_RANK_INDEX_SQL}), opened_at DESC, agent_id, rule_id, subject, user_name, severity, check_id);
    `,
    postgres: `
      CREATE INDEX violations_page_severity ON violations (state, (${SEVERITY_RANK_INDEX_SQL}), opened_at DESC, agent_id, rule_id, subject, user_name, severity, check_id);
    `,
  },
  {
    version: 202612063102,
    name: 'indexes for counting rule results per rule and kind (the 自己点検 report) and violations per day without reading whole rows (the overview trends)',
    sqlite: REPORT_INDEXES_SQL,
    postgres: REPORT_INDEXES_SQL,
  },
  {
    version: 202612063501,
    name: 'agent packages, the installer each PC has, rollouts and their state per PC',
    sqlite: AGENT_UPDATES_SQL,
    postgres: AGENT_UPDATES_SQL,
  },
  {
    version: 202612070101,
    name: 'violations opened and closed per JST day, kind and 課, kept by triggers (the overview trends)',
    sqlite: VIOLATION_DAYS_SQLITE,
    postgres: VIOLATION_DAYS_POSTGRES,
  },
  {
    version: 202612072710,
    name: 'open violations per 課, kind and severity, kept by triggers (the overview counts)',
    sqlite: OPEN_VIOLATION_COUNTS_SQLITE,
    postgres: OPEN_VIOLATION_COUNTS_POSTGRES,
  },
  {
    version: 202612072711,
    name: 'latest rule results per 課, rule and result of the PCs not revoked, kept by triggers (the 自己点検 report)',
    sqlite: RULE_RESULT_COUNTS_SQLITE,
    postgres: RULE_RESULT_COUNTS_POSTGRES,
  },
  {
    version: 202612072712,
    name: 'trigram index of the violation text search on SQLite (PostgreSQL: pg_trgm, postgres/text-search.ts)',
    sqlite: VIOLATIONS_TEXT_SQLITE,
    postgres: 'SELECT 1;',
  },
  {
    version: 202612072901,
    name: 'a digest of what each open violation was last reported with, so a report that changes nothing but the time writes only the time (SQLite; sqlite/violation-batch.ts)',
    sqlite: VIOLATION_DIGEST_SQLITE,
    postgres: 'SELECT 1;',
  },
  {
    version: 202612073001,
    // Every violation event wrote a second random-position index entry of the same key as the
    // primary key; the forwarders' queries (forwarding.ts) read events by received_at on SQLite
    // (EXPLAIN QUERY PLAN at 10,000 PCs and 200,000 events: events_received), never by it.
    name: 'no second index of violation events by PC and sequence on SQLite (unused by the forwarders; a write per event)',
    sqlite: 'DROP INDEX IF EXISTS events_forwardable;',
    postgres: 'SELECT 1;',
  },
];
