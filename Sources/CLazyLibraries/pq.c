// The libpq functions ecom calls (EcomPostgres), opened on first use.
#include <postgresql/libpq-fe.h>

#include "loader.h"

#define PQ(result, name, parameters, arguments) ECOM_FORWARD(ecom_lazy_pq, result, name, parameters, arguments)
#define PQ_VOID(name, parameters, arguments) ECOM_FORWARD_VOID(ecom_lazy_pq, name, parameters, arguments)

// Connections
PQ(PGconn *, PQconnectdbParams, (const char *const *keywords, const char *const *values, int expand_dbname),
   (keywords, values, expand_dbname))
PQ_VOID(PQfinish, (PGconn *conn), (conn))
PQ(ConnStatusType, PQstatus, (const PGconn *conn), (conn))
PQ(PGTransactionStatusType, PQtransactionStatus, (const PGconn *conn), (conn))
PQ(char *, PQerrorMessage, (const PGconn *conn), (conn))
PQ(int, PQsocket, (const PGconn *conn), (conn))
PQ(PQnoticeProcessor, PQsetNoticeProcessor, (PGconn *conn, PQnoticeProcessor proc, void *arg), (conn, proc, arg))
PQ(int, PQconsumeInput, (PGconn *conn), (conn))
PQ(PGnotify *, PQnotifies, (PGconn *conn), (conn))
PQ_VOID(PQfreemem, (void *ptr), (ptr))

// Statements
PQ(PGresult *, PQexec, (PGconn *conn, const char *query), (conn, query))
PQ(PGresult *, PQexecParams,
   (PGconn *conn, const char *command, int nParams, const Oid *paramTypes, const char *const *paramValues,
    const int *paramLengths, const int *paramFormats, int resultFormat),
   (conn, command, nParams, paramTypes, paramValues, paramLengths, paramFormats, resultFormat))
PQ(PGresult *, PQprepare, (PGconn *conn, const char *stmtName, const char *query, int nParams, const Oid *paramTypes),
   (conn, stmtName, query, nParams, paramTypes))
PQ(PGresult *, PQexecPrepared,
   (PGconn *conn, const char *stmtName, int nParams, const char *const *paramValues, const int *paramLengths,
    const int *paramFormats, int resultFormat),
   (conn, stmtName, nParams, paramValues, paramLengths, paramFormats, resultFormat))

// Pipeline mode
PQ(int, PQenterPipelineMode, (PGconn *conn), (conn))
PQ(int, PQexitPipelineMode, (PGconn *conn), (conn))
PQ(int, PQpipelineSync, (PGconn *conn), (conn))
PQ(int, PQsendPrepare, (PGconn *conn, const char *stmtName, const char *query, int nParams, const Oid *paramTypes),
   (conn, stmtName, query, nParams, paramTypes))
PQ(int, PQsendQueryParams,
   (PGconn *conn, const char *command, int nParams, const Oid *paramTypes, const char *const *paramValues,
    const int *paramLengths, const int *paramFormats, int resultFormat),
   (conn, command, nParams, paramTypes, paramValues, paramLengths, paramFormats, resultFormat))
PQ(int, PQsendQueryPrepared,
   (PGconn *conn, const char *stmtName, int nParams, const char *const *paramValues, const int *paramLengths,
    const int *paramFormats, int resultFormat),
   (conn, stmtName, nParams, paramValues, paramLengths, paramFormats, resultFormat))
PQ(PGresult *, PQgetResult, (PGconn *conn), (conn))

// Results
PQ_VOID(PQclear, (PGresult *res), (res))
PQ(ExecStatusType, PQresultStatus, (const PGresult *res), (res))
PQ(char *, PQresultErrorField, (const PGresult *res, int fieldcode), (res, fieldcode))
PQ(char *, PQcmdTuples, (PGresult *res), (res))
PQ(int, PQntuples, (const PGresult *res), (res))
PQ(int, PQnfields, (const PGresult *res), (res))
PQ(char *, PQfname, (const PGresult *res, int field_num), (res, field_num))
PQ(char *, PQgetvalue, (const PGresult *res, int tup_num, int field_num), (res, tup_num, field_num))
PQ(int, PQgetisnull, (const PGresult *res, int tup_num, int field_num), (res, tup_num, field_num))
