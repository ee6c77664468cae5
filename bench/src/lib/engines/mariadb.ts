import mysql from "mysql2/promise";
import { InsufficientFunds, plan, type TransferEngine } from "./engine.js";

export async function mariadbEngine(options: { host: string; port: number; poolSize: number }): Promise<TransferEngine> {
  const database = `kuku_engines_${process.pid}`;
  const admin = await mysql.createConnection({ host: options.host, port: options.port, user: "kuku", password: "kuku" });
  await admin.query(`CREATE DATABASE ${database}`);
  await admin.end();
  const pool = mysql.createPool({
    host: options.host,
    port: options.port,
    user: "kuku",
    password: "kuku",
    database,
    connectionLimit: options.poolSize,
    supportBigNumbers: true,
    bigNumberStrings: true,
  });
  let fundedMinor = 0n;
  return {
    name: "MariaDB (InnoDB)",
    async setUp(accounts, fundingMinor) {
      fundedMinor = fundingMinor;
      await pool.query(
        `CREATE TABLE balances (account_id bigint PRIMARY KEY, total_minor bigint NOT NULL CHECK (total_minor >= 0)) ENGINE=InnoDB`,
      );
      await pool.query(`CREATE TABLE entries (entry_id bigint AUTO_INCREMENT PRIMARY KEY, request_id varchar(64) NOT NULL UNIQUE,
        created_at timestamp(6) NOT NULL DEFAULT current_timestamp(6)) ENGINE=InnoDB`);
      await pool.query(`CREATE TABLE postings (posting_id bigint AUTO_INCREMENT PRIMARY KEY,
        entry_id bigint NOT NULL REFERENCES entries (entry_id), account_id bigint NOT NULL REFERENCES balances (account_id),
        amount_minor bigint NOT NULL, KEY postings_by_account (account_id, posting_id)) ENGINE=InnoDB`);
      await pool.query(`INSERT INTO balances SELECT seq, ? FROM seq_1_to_${String(accounts)}`, [fundingMinor.toString()]);
    },
    async transfer(requestId, fromId, toId, amountMinor) {
      const db = await pool.getConnection();
      try {
        await db.query("SET TRANSACTION ISOLATION LEVEL READ COMMITTED");
        await db.query("START TRANSACTION");
        const [rows] = await db.execute<mysql.RowDataPacket[]>(
          "SELECT account_id, total_minor FROM balances WHERE account_id IN (?, ?) ORDER BY account_id FOR UPDATE",
          [fromId, toId],
        );
        const next = plan(
          new Map(rows.map((r) => [Number(r["account_id"]), BigInt(r["total_minor"] as string)])),
          fromId,
          toId,
          amountMinor,
        );
        await db.execute("UPDATE balances SET total_minor = ? WHERE account_id = ?", [next.fromMinor.toString(), fromId]);
        await db.execute("UPDATE balances SET total_minor = ? WHERE account_id = ?", [next.toMinor.toString(), toId]);
        const [entry] = await db.execute<mysql.ResultSetHeader>("INSERT INTO entries (request_id) VALUES (?)", [requestId]);
        await db.execute("INSERT INTO postings (entry_id, account_id, amount_minor) VALUES (?, ?, ?), (?, ?, ?)", [
          entry.insertId,
          fromId,
          (-amountMinor).toString(),
          entry.insertId,
          toId,
          amountMinor.toString(),
        ]);
        await db.query("COMMIT");
        return true;
      } catch (error) {
        await db.query("ROLLBACK");
        if (error instanceof InsufficientFunds) return false;
        throw error;
      } finally {
        db.release();
      }
    },
    async audit() {
      const [rows] = await pool.query<mysql.RowDataPacket[]>(
        `SELECT (SELECT sum(total_minor) FROM balances) AS total,
                (SELECT count(*) FROM balances b LEFT JOIN (SELECT account_id, sum(amount_minor) s FROM postings GROUP BY account_id) p
                   USING (account_id) WHERE b.total_minor <> ? + coalesce(p.s, 0)) AS mismatches,
                (SELECT count(*) FROM entries) AS entries`,
        [fundedMinor.toString()],
      );
      const row = rows[0]!;
      return { totalMinor: BigInt(String(row["total"])), mismatches: Number(row["mismatches"]), entries: Number(row["entries"]) };
    },
    async close() {
      await pool.query(`DROP DATABASE ${database}`);
      await pool.end();
    },
  };
}
