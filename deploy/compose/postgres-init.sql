-- One database per service that owns tables; each service migrates its own at start-up.
CREATE DATABASE kuku_ledger;
CREATE DATABASE kuku_order;
CREATE DATABASE kuku_exchange;
CREATE DATABASE kuku_market;
CREATE DATABASE kuku_gateway;
