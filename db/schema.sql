-- Test/dev schema for the jambonz tables the registration sidecar touches (jambonz-api-server 0.9.6,
-- schema step 9006). Written from the column tables in docs/jambonz-schema.md.
--
-- No CREATE DATABASE / USE: the loader chooses the database. No ENGINE / CHARSET: server defaults apply,
-- as upstream. accounts and applications reference each other, so every table is created first and the
-- foreign keys are added afterwards, with FOREIGN_KEY_CHECKS off for the whole script.
-- ENUM members are single-quoted so the file also loads under sql_mode ANSI_QUOTES.

SET FOREIGN_KEY_CHECKS=0;

DROP TABLE IF EXISTS account_products;
DROP TABLE IF EXISTS account_subscriptions;
DROP TABLE IF EXISTS products;
DROP TABLE IF EXISTS sbc_addresses;
DROP TABLE IF EXISTS system_information;
DROP TABLE IF EXISTS schema_version;
DROP TABLE IF EXISTS sip_gateways;
DROP TABLE IF EXISTS voip_carriers;
DROP TABLE IF EXISTS clients;
DROP TABLE IF EXISTS applications;
DROP TABLE IF EXISTS accounts;
DROP TABLE IF EXISTS service_providers;
DROP TABLE IF EXISTS webhooks;

CREATE TABLE webhooks
(
  webhook_sid CHAR(36) NOT NULL UNIQUE,
  url VARCHAR(1024) NOT NULL,
  method ENUM('GET','POST') NOT NULL DEFAULT 'POST',
  username VARCHAR(255),
  password VARCHAR(255),
  PRIMARY KEY (webhook_sid)
) COMMENT='An HTTP callback';

CREATE TABLE service_providers
(
  service_provider_sid CHAR(36) NOT NULL UNIQUE,
  name VARCHAR(64) NOT NULL UNIQUE,
  description VARCHAR(255),
  root_domain VARCHAR(128) UNIQUE,
  registration_hook_sid CHAR(36),
  ms_teams_fqdn VARCHAR(255),
  PRIMARY KEY (service_provider_sid)
) COMMENT='A partition of the platform used by one service provider';

CREATE TABLE accounts
(
  account_sid CHAR(36) NOT NULL UNIQUE,
  name VARCHAR(64) NOT NULL,
  sip_realm VARCHAR(132) UNIQUE,
  service_provider_sid CHAR(36) NOT NULL,
  registration_hook_sid CHAR(36),
  queue_event_hook_sid CHAR(36),
  device_calling_application_sid CHAR(36),
  is_active BOOLEAN NOT NULL DEFAULT 1,
  created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  plan_type ENUM('trial','free','paid') NOT NULL DEFAULT 'trial',
  stripe_customer_id VARCHAR(56),
  webhook_secret VARCHAR(36) NOT NULL,
  disable_cdrs BOOLEAN NOT NULL DEFAULT 0,
  trial_end_date DATETIME,
  deactivated_reason VARCHAR(255),
  device_to_call_ratio INTEGER NOT NULL DEFAULT 5,
  subspace_client_id VARCHAR(255),
  subspace_client_secret VARCHAR(255),
  subspace_sip_teleport_id VARCHAR(255),
  subspace_sip_teleport_destinations VARCHAR(255),
  siprec_hook_sid CHAR(36),
  record_all_calls BOOLEAN NOT NULL DEFAULT 0,
  record_format VARCHAR(16) NOT NULL DEFAULT 'mp3',
  bucket_credential VARCHAR(8192),
  enable_debug_log BOOLEAN NOT NULL DEFAULT 0,
  PRIMARY KEY (account_sid)
) COMMENT='An enterprise that uses the platform for comm services';

CREATE INDEX service_provider_sid_idx ON accounts (service_provider_sid);

-- Only the sidecar-relevant shape matters, but the whole 0.9.6 definition is kept so that fixtures
-- copied from a real database load unchanged.
CREATE TABLE applications
(
  application_sid CHAR(36) NOT NULL UNIQUE,
  name VARCHAR(64) NOT NULL,
  service_provider_sid CHAR(36),
  account_sid CHAR(36),
  call_hook_sid CHAR(36),
  call_status_hook_sid CHAR(36),
  messaging_hook_sid CHAR(36),
  app_json TEXT,
  speech_synthesis_vendor VARCHAR(64) NOT NULL DEFAULT 'google',
  speech_synthesis_language VARCHAR(12) NOT NULL DEFAULT 'en-US',
  speech_synthesis_voice VARCHAR(256) DEFAULT 'en-US-Standard-C',
  speech_synthesis_label VARCHAR(64),
  speech_recognizer_vendor VARCHAR(64) NOT NULL DEFAULT 'google',
  speech_recognizer_language VARCHAR(64) NOT NULL DEFAULT 'en-US',
  speech_recognizer_label VARCHAR(64),
  use_for_fallback_speech BOOLEAN DEFAULT 0,
  fallback_speech_synthesis_vendor VARCHAR(64),
  fallback_speech_synthesis_language VARCHAR(12),
  fallback_speech_synthesis_voice VARCHAR(256),
  fallback_speech_synthesis_label VARCHAR(64),
  fallback_speech_recognizer_vendor VARCHAR(64),
  fallback_speech_recognizer_language VARCHAR(64),
  fallback_speech_recognizer_label VARCHAR(64),
  env_vars TEXT,
  created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  record_all_calls BOOLEAN NOT NULL DEFAULT 0,
  PRIMARY KEY (application_sid),
  UNIQUE KEY applications_idx_name (account_sid, name)
) COMMENT='A defined set of behaviors to be applied to phone calls';

CREATE INDEX applications_service_provider_sid_idx ON applications (service_provider_sid);

CREATE TABLE clients
(
  client_sid CHAR(36) NOT NULL UNIQUE,
  account_sid CHAR(36) NOT NULL,
  is_active BOOLEAN NOT NULL DEFAULT 1,
  username VARCHAR(64),
  password VARCHAR(1024),
  allow_direct_app_calling BOOLEAN NOT NULL DEFAULT 1,
  allow_direct_queue_calling BOOLEAN NOT NULL DEFAULT 1,
  allow_direct_user_calling BOOLEAN NOT NULL DEFAULT 1,
  PRIMARY KEY (client_sid)
);

CREATE TABLE voip_carriers
(
  voip_carrier_sid CHAR(36) NOT NULL UNIQUE,
  name VARCHAR(64) NOT NULL,
  description VARCHAR(255),
  account_sid CHAR(36),
  service_provider_sid CHAR(36),
  application_sid CHAR(36),
  e164_leading_plus BOOLEAN NOT NULL DEFAULT 0,
  requires_register BOOLEAN NOT NULL DEFAULT 0,
  register_username VARCHAR(64),
  register_sip_realm VARCHAR(64),
  register_password VARCHAR(64),
  tech_prefix VARCHAR(16),
  inbound_auth_username VARCHAR(64),
  inbound_auth_password VARCHAR(64),
  diversion VARCHAR(32),
  is_active BOOLEAN NOT NULL DEFAULT 1,
  created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  smpp_system_id VARCHAR(255),
  smpp_password VARCHAR(64),
  smpp_enquire_link_interval INTEGER DEFAULT 0,
  smpp_inbound_system_id VARCHAR(255),
  smpp_inbound_password VARCHAR(64),
  register_from_user VARCHAR(128),
  register_from_domain VARCHAR(255),
  register_public_ip_in_contact BOOLEAN NOT NULL DEFAULT 0,
  register_status VARCHAR(4096),
  dtmf_type ENUM('rfc2833','tones','info') NOT NULL DEFAULT 'rfc2833',
  outbound_sip_proxy VARCHAR(255),
  trunk_type ENUM('static_ip','auth','reg') NOT NULL DEFAULT 'static_ip',
  PRIMARY KEY (voip_carrier_sid)
) COMMENT='A Carrier or customer PBX that can send or receive calls';

CREATE INDEX voip_carriers_account_sid_idx ON voip_carriers (account_sid);
CREATE INDEX voip_carriers_service_provider_sid_idx ON voip_carriers (service_provider_sid);

CREATE TABLE sip_gateways
(
  sip_gateway_sid CHAR(36),
  ipv4 VARCHAR(128) NOT NULL,
  netmask INTEGER NOT NULL DEFAULT 32,
  port INTEGER,
  inbound BOOLEAN NOT NULL,
  outbound BOOLEAN NOT NULL,
  voip_carrier_sid CHAR(36) NOT NULL,
  is_active BOOLEAN NOT NULL DEFAULT 1,
  send_options_ping BOOLEAN NOT NULL DEFAULT 0,
  use_sips_scheme BOOLEAN NOT NULL DEFAULT 0,
  pad_crypto BOOLEAN NOT NULL DEFAULT 0,
  protocol ENUM('udp','tcp','tls','tls/srtp') DEFAULT 'udp',
  remove_ice BOOLEAN NOT NULL DEFAULT 0,
  dtls_off BOOLEAN NOT NULL DEFAULT 0,
  PRIMARY KEY (sip_gateway_sid)
) COMMENT='A whitelisted sip gateway used for origination/termination';

CREATE INDEX sip_gateway_idx_hostport ON sip_gateways (ipv4, port);
CREATE INDEX idx_sip_gateways_inbound_carrier ON sip_gateways (inbound, voip_carrier_sid);
CREATE INDEX idx_sip_gateways_inbound_lookup ON sip_gateways (inbound, netmask, ipv4);
CREATE INDEX idx_sip_gateways_inbound_netmask ON sip_gateways (inbound, netmask);
CREATE INDEX voip_carrier_sid_idx ON sip_gateways (voip_carrier_sid);

-- A single settings row; no key of any kind, readers take the first row.
CREATE TABLE system_information
(
  domain_name VARCHAR(255),
  sip_domain_name VARCHAR(255),
  monitoring_domain_name VARCHAR(255),
  private_network_cidr VARCHAR(8192),
  log_level ENUM('info','debug') NOT NULL DEFAULT 'info'
);

-- The jambonz release the database is at (one row, e.g. 'v0.9.7', written by jambonz-api-server's
-- installer and upgrade script); read for topology discovery.
CREATE TABLE schema_version
(
  version VARCHAR(16)
);

CREATE TABLE sbc_addresses
(
  sbc_address_sid CHAR(36) NOT NULL UNIQUE,
  ipv4 VARCHAR(255) NOT NULL,
  port INTEGER NOT NULL DEFAULT 5060,
  tls_port INTEGER,
  wss_port INTEGER,
  service_provider_sid CHAR(36),
  last_updated DATETIME,
  PRIMARY KEY (sbc_address_sid)
);

CREATE INDEX sbc_addresses_idx_host_port ON sbc_addresses (ipv4, port);
CREATE INDEX sbc_addresses_service_provider_sid_idx ON sbc_addresses (service_provider_sid);

CREATE TABLE products
(
  product_sid CHAR(36) NOT NULL UNIQUE,
  name VARCHAR(32) NOT NULL,
  category ENUM('api_rate','voice_call_session','device') NOT NULL,
  PRIMARY KEY (product_sid)
);

CREATE TABLE account_subscriptions
(
  account_subscription_sid CHAR(36) NOT NULL UNIQUE,
  account_sid CHAR(36) NOT NULL,
  pending BOOLEAN NOT NULL DEFAULT 0,
  effective_start_date DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  effective_end_date DATETIME,
  change_reason VARCHAR(255),
  stripe_subscription_id VARCHAR(56),
  stripe_payment_method_id VARCHAR(56),
  stripe_statement_descriptor VARCHAR(255),
  last4 VARCHAR(512),
  exp_month INTEGER,
  exp_year INTEGER,
  card_type VARCHAR(16),
  pending_reason VARBINARY(52),
  PRIMARY KEY (account_subscription_sid)
);

CREATE INDEX account_subscriptions_account_sid_idx ON account_subscriptions (account_sid);

CREATE TABLE account_products
(
  account_product_sid CHAR(36) NOT NULL UNIQUE,
  account_subscription_sid CHAR(36) NOT NULL,
  product_sid CHAR(36) NOT NULL,
  quantity INTEGER NOT NULL,
  PRIMARY KEY (account_product_sid)
);

CREATE INDEX account_products_account_subscription_sid_idx ON account_products (account_subscription_sid);

-- Foreign keys, none with a referential action (RESTRICT): delete children before parents.

ALTER TABLE service_providers ADD FOREIGN KEY service_providers_registration_hook_fk (registration_hook_sid)
  REFERENCES webhooks (webhook_sid);

ALTER TABLE accounts ADD FOREIGN KEY accounts_service_provider_fk (service_provider_sid)
  REFERENCES service_providers (service_provider_sid);
ALTER TABLE accounts ADD FOREIGN KEY accounts_registration_hook_fk (registration_hook_sid)
  REFERENCES webhooks (webhook_sid);
ALTER TABLE accounts ADD FOREIGN KEY accounts_queue_event_hook_fk (queue_event_hook_sid)
  REFERENCES webhooks (webhook_sid);
ALTER TABLE accounts ADD FOREIGN KEY accounts_device_calling_application_fk (device_calling_application_sid)
  REFERENCES applications (application_sid);
ALTER TABLE accounts ADD FOREIGN KEY accounts_siprec_hook_fk (siprec_hook_sid)
  REFERENCES applications (application_sid);

ALTER TABLE applications ADD FOREIGN KEY applications_service_provider_fk (service_provider_sid)
  REFERENCES service_providers (service_provider_sid);
ALTER TABLE applications ADD FOREIGN KEY applications_account_fk (account_sid)
  REFERENCES accounts (account_sid);
ALTER TABLE applications ADD FOREIGN KEY applications_call_hook_fk (call_hook_sid)
  REFERENCES webhooks (webhook_sid);
ALTER TABLE applications ADD FOREIGN KEY applications_call_status_hook_fk (call_status_hook_sid)
  REFERENCES webhooks (webhook_sid);
ALTER TABLE applications ADD FOREIGN KEY applications_messaging_hook_fk (messaging_hook_sid)
  REFERENCES webhooks (webhook_sid);

ALTER TABLE clients ADD CONSTRAINT account_sid_idxfk_13 FOREIGN KEY (account_sid)
  REFERENCES accounts (account_sid);

ALTER TABLE voip_carriers ADD FOREIGN KEY voip_carriers_account_fk (account_sid)
  REFERENCES accounts (account_sid);
ALTER TABLE voip_carriers ADD FOREIGN KEY voip_carriers_service_provider_fk (service_provider_sid)
  REFERENCES service_providers (service_provider_sid);
ALTER TABLE voip_carriers ADD FOREIGN KEY voip_carriers_application_fk (application_sid)
  REFERENCES applications (application_sid);

ALTER TABLE sip_gateways ADD FOREIGN KEY sip_gateways_voip_carrier_fk (voip_carrier_sid)
  REFERENCES voip_carriers (voip_carrier_sid);

ALTER TABLE sbc_addresses ADD FOREIGN KEY sbc_addresses_service_provider_fk (service_provider_sid)
  REFERENCES service_providers (service_provider_sid);

ALTER TABLE account_subscriptions ADD FOREIGN KEY account_subscriptions_account_fk (account_sid)
  REFERENCES accounts (account_sid);

ALTER TABLE account_products ADD FOREIGN KEY account_products_subscription_fk (account_subscription_sid)
  REFERENCES account_subscriptions (account_subscription_sid);
ALTER TABLE account_products ADD FOREIGN KEY account_products_product_fk (product_sid)
  REFERENCES products (product_sid);

SET FOREIGN_KEY_CHECKS=1;
