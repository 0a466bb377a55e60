-- Demo data for docker-compose: one service provider, one account whose SIP realm is sip.demo.test, and
-- that account's registration hook, the demo-hook container. Loaded by MySQL after db/schema.sql.

INSERT INTO service_providers (service_provider_sid, name, description)
VALUES ('2708b1b3-2736-40ea-b502-c53d8396247f', 'demo', 'docker-compose demo service provider');

INSERT INTO webhooks (webhook_sid, url, method)
VALUES ('90dda62e-0ea2-47d1-8164-5bd49003476c', 'http://demo-hook:4000/auth', 'POST');

INSERT INTO accounts (account_sid, name, sip_realm, service_provider_sid, registration_hook_sid, webhook_secret)
VALUES ('9351f46a-678c-43f5-b8a6-d4eb58d131af', 'demo account', 'sip.demo.test',
        '2708b1b3-2736-40ea-b502-c53d8396247f', '90dda62e-0ea2-47d1-8164-5bd49003476c', 'wh_secret_demo');
