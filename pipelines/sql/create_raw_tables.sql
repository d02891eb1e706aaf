-- The raw layer: an append-only record of what arrived, exactly as it arrived (after validation).
-- Ingestion (Kafka) and bulk loads (files) are its only writers. Staging reads from here.
create schema if not exists raw;

create table if not exists raw.touchpoints (
    event_id varchar not null,
    occurred_at timestamp not null,
    received_at timestamp,
    channel varchar not null,
    event_type varchar not null,
    customer_id varchar,
    anonymous_id varchar,
    email_hash varchar,
    phone_hash varchar,
    loyalty_id varchar,
    session_id varchar,
    order_id varchar,
    revenue double,
    currency varchar,
    campaign varchar,
    source varchar,
    medium varchar,
    product_id varchar,
    ticket_id varchar,
    nps_score integer,
    csat_score integer,
    ces_score integer,
    properties map(varchar, varchar),
    source_topic varchar not null,
    source_partition integer,
    source_offset bigint,
    ingested_at timestamp not null,
    load_id varchar not null
);

create table if not exists raw.dead_letters (
    source_topic varchar not null,
    source_partition integer,
    source_offset bigint,
    payload blob,
    reason varchar not null,
    dead_lettered_at timestamp not null,
    load_id varchar not null
);

create table if not exists raw.ingest_offsets (
    topic varchar not null,
    partition integer not null,
    next_offset bigint not null,
    updated_at timestamp not null,
    primary key (topic, partition)
);

-- Offsets stored before anchors existed keep last_message_digest NULL (only presence is checked).
alter table raw.ingest_offsets add column if not exists last_message_digest varchar;

create table if not exists raw.ingest_gaps (
    topic varchar not null,
    partition integer not null,
    stored_offset bigint not null,
    log_start_offset bigint not null,
    resume_offset bigint not null,
    reason varchar not null,
    detected_at timestamp not null,
    load_id varchar not null
);

create table if not exists raw.load_runs (
    load_id varchar not null,
    kind varchar not null,
    source varchar not null,
    started_at timestamp not null,
    ended_at timestamp,
    n_consumed bigint,
    n_loaded bigint,
    n_dead_lettered bigint
);

comment on table raw.touchpoints is 'One row per delivered touchpoint message (or file row) that passed validation; redeliveries are kept here and removed in staging. Times are UTC.';
comment on column raw.touchpoints.source_topic is 'Kafka topic, or file:<name> for bulk loads';
comment on column raw.touchpoints.source_offset is 'Kafka offset, or row number for bulk loads';
comment on column raw.touchpoints.load_id is 'Ingest micro-batch or bulk load that wrote the row (see raw.load_runs)';
comment on column raw.touchpoints.email_hash is 'Salted SHA-256 of the normalised e-mail: raw addresses never reach the warehouse';
comment on column raw.touchpoints.phone_hash is 'Salted SHA-256 of the normalised phone number';
comment on table raw.dead_letters is 'One row per rejected message or file row, with the raw bytes (or the row as JSON) and every reason it failed.';
comment on table raw.ingest_offsets is 'One row per Kafka topic partition: the next offset to consume. Written in the same transaction as the rows, which is what makes ingestion exactly-once.';
comment on column raw.ingest_offsets.last_message_digest is 'Digest (CRC-32 of key and value, timestamp) of the message at next_offset - 1: read back to check the broker still holds the same log';
comment on table raw.ingest_gaps is 'One row per detected gap: a partition whose stored offset no longer pointed into the log it was read from (broker restarted empty, topic re-created, retention deleted unread messages), and where consumption resumed.';
comment on table raw.load_runs is 'One row per ingest micro-batch or bulk load, with consumed = loaded + dead-lettered.';
