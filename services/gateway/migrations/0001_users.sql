-- Users of the console and their refresh tokens. Passwords are scrypt
-- hashes with their parameters; refresh tokens are stored as SHA-256 digests
-- only, so a copy of this table cannot sign anyone in.
CREATE TABLE users (
  user_id       uuid PRIMARY KEY,
  email         text NOT NULL,
  display_name  text NOT NULL,
  password_hash text NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now()
);
-- E-mail addresses compare case-insensitively.
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

-- One family per sign-in: every refresh rotates to a new token of the same
-- family; presenting a used token again revokes the whole family (theft).
CREATE TABLE refresh_tokens (
  token_hash  bytea PRIMARY KEY,
  user_id     uuid NOT NULL REFERENCES users (user_id),
  family_id   uuid NOT NULL,
  expires_at  timestamptz NOT NULL,
  used_at     timestamptz,
  revoked_at  timestamptz,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
