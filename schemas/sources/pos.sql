-- The legacy POS (PostgreSQL, database `pos`, schema public), exactly as ../shared/spec/legacy-sources.md
-- describes it. Idempotent: applied on every `atp up`.

CREATE TABLE IF NOT EXISTS store (
  store_id     text PRIMARY KEY,
  name         text NOT NULL,
  timezone     text NOT NULL
);

CREATE TABLE IF NOT EXISTS store_stock (
  store_id     text NOT NULL,
  upc          char(12) NOT NULL,
  on_hand      integer NOT NULL,
  updated_at   timestamp without time zone NOT NULL,
  PRIMARY KEY (store_id, upc)
);

CREATE TABLE IF NOT EXISTS sale_ticket (
  ticket_id      bigint PRIMARY KEY,
  store_id       text NOT NULL,
  opened_at      timestamptz NOT NULL,
  status         text NOT NULL,
  customer_email text NULL,
  loyalty_id     text NULL
);

CREATE TABLE IF NOT EXISTS sale_line (
  ticket_id    bigint NOT NULL,
  line_no      integer NOT NULL,
  upc          char(12) NOT NULL,
  qty          integer NOT NULL,
  unit_price   numeric(10,2) NOT NULL,
  PRIMARY KEY (ticket_id, line_no)
);

-- Full before-images, so that Debezium's update and delete events carry the whole old row.
ALTER TABLE store REPLICA IDENTITY FULL;
ALTER TABLE store_stock REPLICA IDENTITY FULL;
ALTER TABLE sale_ticket REPLICA IDENTITY FULL;
ALTER TABLE sale_line REPLICA IDENTITY FULL;
