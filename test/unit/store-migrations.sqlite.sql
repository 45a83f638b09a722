-- 0001_initial
create table "refunds" ("key" text primary key, "refund_id" text, "refund_request_id" text unique, "payment_id" text not null, "amount_currency" text, "amount_value" text, "merchant_account_id" text, "payment_method_type" text, "refund_reason" text, "customer_email" text, "customer_name" text, "customer_locale" text, "metadata" text, "initiated_at" text not null, "origin" text not null, "status" text not null, "last_refund_status" text, "reason_code" text, "result_code" text, "result_message" text, "refund_time" text, "detected_by" text, "escalated" integer default 0 not null, "inquiries" integer default 0 not null, "consecutive_errors" integer default 0 not null, "next_poll_at" integer, "lease_owner" text, "lease_expires_at" integer, "recorded_at" integer not null, "updated_at" integer not null, "stalled_at" integer, "given_up_at" integer, "finalized_at" integer, "version" integer default 0 not null);
create index "refunds_due" on "refunds" ("next_poll_at") where "next_poll_at" is not null;
create index "refunds_refund_id" on "refunds" ("refund_id") where "key" <> "refund_id";
create index "refunds_status" on "refunds" ("status", "updated_at");
create table "timeline" ("id" integer primary key autoincrement, "refund_key" text not null, "at" integer not null, "kind" text not null, "message" text not null, "detail" text);
create index "timeline_refund" on "timeline" ("refund_key", "id");
create table "outbox" ("id" integer primary key autoincrement, "dedupe_key" text not null unique, "refund_key" text not null, "kind" text not null, "channel" text not null, "payload" text not null, "status" text not null, "attempts" integer default 0 not null, "next_attempt_at" integer not null, "lease_owner" text, "lease_expires_at" integer, "last_error" text, "created_at" integer not null, "sent_at" integer);
create index "outbox_due" on "outbox" ("next_attempt_at") where "status" = 'pending';
create index "outbox_refund" on "outbox" ("refund_key");
-- 0002_notifications
alter table "outbox" add column "sending_at" integer;
create table "notification_groups" ("id" integer primary key autoincrement, "receiver" text not null, "group_key" text not null, "template" text not null, "playbook" text, "window_start" integer not null, "window_end" integer not null, "message_channel" text, "message_ts" text, "dirty" integer default 0 not null, "flushed_at" integer, "members_sent" integer default 0 not null, "last_error" text, "closed" integer default 0 not null);
create index "notification_groups_open" on "notification_groups" ("receiver", "group_key", "window_end") where "closed" = 0;
create table "notification_group_members" ("group_id" integer not null, "refund_key" text not null, "seq" integer not null, "member" text not null, constraint "notification_group_members_pk" primary key ("group_id", "refund_key"));
create table "slack_threads" ("refund_key" text not null, "channel" text not null, "channel_id" text not null, "ts" text not null, "posted_at" integer not null, "reminders" integer default 0 not null, "reminded_at" integer, constraint "slack_threads_pk" primary key ("refund_key", "channel"));
-- 0003_reliability
create table "instances" ("owner" text primary key, "started_at" integer not null, "seen_at" integer not null);
alter table "outbox" add column "failing_since" integer;
create table "channel_outages" ("channel" text primary key, "since" integer not null, "last_error" text, "announced_at" integer);
create index "outbox_pending_channel" on "outbox" ("channel", "next_attempt_at") where "status" = 'pending';
-- 0004_antom_binding
alter table "refunds" add column "antom_api" text;
alter table "refunds" add column "unconfirmed_failure" text;
alter table "refunds" add column "antom_confirmed" text;
-- 0005_structured_groups
alter table "notification_groups" add column "receiver_spec" text;
alter table "notification_groups" add column "key_parts" text;
alter table "notification_groups" add column "failing_since" integer;
create index "notification_group_members_refund" on "notification_group_members" ("refund_key");
select "id", "receiver", "group_key" from "notification_groups";
-- 0006_cluster_jobs
create table "job_runs" ("job" text not null, "period" text not null, "owner" text not null, "claimed_at" integer not null, constraint "job_runs_pk" primary key ("job", "period"));
create index "job_runs_claimed_at" on "job_runs" ("claimed_at");
-- 0007_retention
create index "refunds_finalized" on "refunds" ("finalized_at") where "finalized_at" is not null;
-- 0008_rate_buckets
create table "rate_buckets" ("bucket" text primary key, "tokens" double precision not null, "refilled_at" integer not null, "slow_until" integer default 0 not null, "slow_factor" double precision default 1 not null);
-- 0009_overdue_indexes
create index "refunds_open_recorded" on "refunds" ("recorded_at") where status in ('pending', 'stalled') and given_up_at is null;
create index "refunds_unstalled_recorded" on "refunds" ("recorded_at") where status in ('pending', 'stalled') and given_up_at is null and stalled_at is null;
-- 0010_status_counts
create table "status_counts" ("tbl" text not null, "status" text not null, "n" integer not null, constraint "status_counts_pk" primary key ("tbl", "status"));
create trigger refunds_count_inserted after insert on refunds begin insert into status_counts (tbl, status, n) values ('refunds', new.status, 1) on conflict (tbl, status) do update set n = n + (1); end;
create trigger refunds_count_deleted after delete on refunds begin insert into status_counts (tbl, status, n) values ('refunds', old.status, -1) on conflict (tbl, status) do update set n = n + (-1); end;
create trigger refunds_count_changed after update of status on refunds when old.status is not new.status begin insert into status_counts (tbl, status, n) values ('refunds', old.status, -1) on conflict (tbl, status) do update set n = n + (-1); insert into status_counts (tbl, status, n) values ('refunds', new.status, 1) on conflict (tbl, status) do update set n = n + (1); end;
insert into status_counts (tbl, status, n) select ?, status, count(*) from "refunds" group by status; -- ["refunds"]
create trigger outbox_count_inserted after insert on outbox begin insert into status_counts (tbl, status, n) values ('outbox', new.status, 1) on conflict (tbl, status) do update set n = n + (1); end;
create trigger outbox_count_deleted after delete on outbox begin insert into status_counts (tbl, status, n) values ('outbox', old.status, -1) on conflict (tbl, status) do update set n = n + (-1); end;
create trigger outbox_count_changed after update of status on outbox when old.status is not new.status begin insert into status_counts (tbl, status, n) values ('outbox', old.status, -1) on conflict (tbl, status) do update set n = n + (-1); insert into status_counts (tbl, status, n) values ('outbox', new.status, 1) on conflict (tbl, status) do update set n = n + (1); end;
insert into status_counts (tbl, status, n) select ?, status, count(*) from "outbox" group by status; -- ["outbox"]
-- 0011_console_lookups
create index "refunds_payment_id" on "refunds" ("payment_id");
create index "refunds_customer_email" on "refunds" ("customer_email") where "customer_email" is not null;
create index "refunds_failed_reason" on "refunds" ("reason_code", "key") where status = 'failed';
