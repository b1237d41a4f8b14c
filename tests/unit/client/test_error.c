/* SPDX-License-Identifier: BSD-3-Clause */
/* test_error.c -- the public codes: names, their range, and the one conversion from -errno */
#include <errno.h>
#include <string.h>

#include <criterion/criterion.h>

#include "client/include/rdmacpy.h"
#include "client/lib/error.h"
#include "common/verbs.h"

Test(client_error, strerror__every_code_named_and_distinct)
{
	int a;
	int b;

	cr_assert_str_neq(rdmacpy_strerror(0), "unknown error");
	for (a = RDMACPY_E_LAST; a <= RDMACPY_E_FIRST; a++) {
		cr_assert_str_neq(rdmacpy_strerror(a), "unknown error", "code %d", a);
		for (b = RDMACPY_E_LAST; b < a; b++)
			cr_assert_str_neq(rdmacpy_strerror(a), rdmacpy_strerror(b), "%d vs %d", a,
					  b);
	}
	cr_assert_str_eq(rdmacpy_strerror(RDMACPY_E_LAST - 1), "unknown error");
	cr_assert_str_eq(rdmacpy_strerror(RDMACPY_E_BASE), "unknown error");
	cr_assert_str_eq(rdmacpy_strerror(1), "unknown error");
	cr_assert_str_eq(rdmacpy_strerror(-EPERM), "unknown error");
}

Test(client_error, codes__far_outside_errno)
{
	/* errno values stay below 4096 (the kernel's MAX_ERRNO): a leaked -errno can never be
	 * taken for a library code */
	cr_assert_lt(RDMACPY_E_FIRST, -4096);
	cr_assert_eq(RDMACPY_E_FIRST, RDMACPY_E_BASE - 1);
}

Test(client_error, daemon_codes__recorded_and_converted_once)
{
	static const struct {
		enum rcp_err proto;
		int pub;
	} t[] = {
		{RCP_ERR_INVAL, RDMACPY_E_INVAL},     {RCP_ERR_NOENT, RDMACPY_E_NOENT},
		{RCP_ERR_ACCESS, RDMACPY_E_ACCESS},   {RCP_ERR_RANGE, RDMACPY_E_RANGE},
		{RCP_ERR_LIMIT, RDMACPY_E_LIMIT},     {RCP_ERR_AUTH, RDMACPY_E_AUTH},
		{RCP_ERR_PROTO, RDMACPY_E_PROTO},     {RCP_ERR_NOMEM, RDMACPY_E_NOMEM},
		{RCP_ERR_IO, RDMACPY_E_IO},	      {RCP_ERR_NOTSUP, RDMACPY_E_NOTSUP},
		{RCP_ERR_BUSY, RDMACPY_E_BUSY},	      {RCP_ERR_SHUTDOWN, RDMACPY_E_SHUTDOWN},
		{RCP_ERR_INTERNAL, RDMACPY_E_SERVER}, {RCP_ERR_EXIST, RDMACPY_E_EXIST},
		{RCP_ERR_UNREACH, RDMACPY_E_CONNECT},
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		int e = rcp_err_errno(t[i].proto);

		cr_assert_lt(e, 0);
		cr_assert_gt(e, -4096, "%s recorded as an errno", rcp_err_name(t[i].proto));
		cr_assert_eq(rcp_err_public(e, RCP_CTX_REQUEST), t[i].pub, "%s",
			     rcp_err_name(t[i].proto));
		/* the daemon's COPY reads the same table the other way */
		cr_assert_eq(rcp_err_proto(t[i].pub), t[i].proto, "%s", rcp_err_name(t[i].proto));
	}
	/* a newer daemon's unknown code is its internal error */
	cr_assert_eq(rcp_err_public(rcp_err_errno((enum rcp_err)99), RCP_CTX_REQUEST),
		     RDMACPY_E_SERVER);
	cr_assert_eq(rcp_err_proto(0), RCP_ERR_NONE);
}

Test(client_error, completions__name_the_cause_in_a_transfer)
{
	static const struct {
		enum ibv_wc_status st;
		int pub;
	} t[] = {
		{IBV_WC_SUCCESS, RDMACPY_OK},
		{IBV_WC_REM_ACCESS_ERR, RDMACPY_E_REMOTE_ACCESS},
		{IBV_WC_RETRY_EXC_ERR, RDMACPY_E_RETRY_EXCEEDED},
		{IBV_WC_RNR_RETRY_EXC_ERR, RDMACPY_E_RNR_RETRY_EXCEEDED},
		{IBV_WC_WR_FLUSH_ERR, RDMACPY_E_FLUSHED},
		{IBV_WC_LOC_PROT_ERR, RDMACPY_E_LOCAL_PROTECTION},
		{IBV_WC_REM_OP_ERR, RDMACPY_E_REMOTE_OP},
		{IBV_WC_GENERAL_ERR, RDMACPY_E_DEVICE},
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		cr_assert_eq(rcp_err_public(rcp_vb_wc_errno(t[i].st), RCP_CTX_TRANSFER), t[i].pub,
			     "%s", ibv_wc_status_str(t[i].st));
}

Test(client_error, same_errno__context_decides)
{
	/* EACCES: the remote key refused a WR, or the daemon refused the rights */
	cr_assert_eq(rcp_err_public(-EACCES, RCP_CTX_TRANSFER), RDMACPY_E_REMOTE_ACCESS);
	cr_assert_eq(rcp_err_public(-EACCES, RCP_CTX_REQUEST), RDMACPY_E_ACCESS);
	cr_assert_eq(rcp_err_public(-EACCES, RCP_CTX_LOCAL), RDMACPY_E_REGISTER);
	/* ETIMEDOUT: the peer stopped acknowledging, or a request had no answer in time */
	cr_assert_eq(rcp_err_public(-ETIMEDOUT, RCP_CTX_TRANSFER), RDMACPY_E_RETRY_EXCEEDED);
	cr_assert_eq(rcp_err_public(-ETIMEDOUT, RCP_CTX_REQUEST), RDMACPY_E_TIMEOUT);
	cr_assert_eq(rcp_err_public(-ETIMEDOUT, RCP_CTX_CONNECT), RDMACPY_E_TIMEOUT);
	/* closing the connection under an operation */
	cr_assert_eq(rcp_err_public(-ESHUTDOWN, RCP_CTX_TRANSFER), RDMACPY_E_CANCELED);
	cr_assert_eq(rcp_err_public(-ECANCELED, RCP_CTX_REQUEST), RDMACPY_E_CANCELED);
	cr_assert_eq(rcp_err_public(-ECANCELED, RCP_CTX_TRANSFER), RDMACPY_E_FLUSHED);
	/* whatever the context */
	cr_assert_eq(rcp_err_public(0, RCP_CTX_TRANSFER), RDMACPY_OK);
	cr_assert_eq(rcp_err_public(-ENOMEM, RCP_CTX_REQUEST), RDMACPY_E_NOMEM);
	cr_assert_eq(rcp_err_public(-ENOTCONN, RCP_CTX_REQUEST), RDMACPY_E_BROKEN);
	cr_assert_eq(rcp_err_public(-ENOKEY, RCP_CTX_CONNECT), RDMACPY_E_KEY);
}

Test(client_error, connect_refusals__mapped)
{
	cr_assert_eq(rcp_err_public(rcp_reject_errno(RCP_REJECT_BAD_VERSION), RCP_CTX_CONNECT),
		     RDMACPY_E_PROTO);
	cr_assert_eq(rcp_err_public(rcp_reject_errno(RCP_REJECT_BAD_MAGIC), RCP_CTX_CONNECT),
		     RDMACPY_E_PROTO);
	cr_assert_eq(rcp_err_public(rcp_reject_errno(RCP_REJECT_NEED_KEY), RCP_CTX_CONNECT),
		     RDMACPY_E_AUTH);
	cr_assert_eq(rcp_err_public(rcp_reject_errno(RCP_REJECT_FULL), RCP_CTX_CONNECT),
		     RDMACPY_E_LIMIT);
	cr_assert_eq(rcp_err_public(rcp_reject_errno(RCP_REJECT_BUSY), RCP_CTX_CONNECT),
		     RDMACPY_E_BUSY);
	cr_assert_eq(rcp_err_public(rcp_reject_errno(RCP_REJECT_SHUTDOWN), RCP_CTX_CONNECT),
		     RDMACPY_E_SHUTDOWN);
	cr_assert_eq(rcp_err_public(-ECONNREFUSED, RCP_CTX_CONNECT), RDMACPY_E_CONNECT);
	cr_assert_eq(rcp_err_public(-ENODEV, RCP_CTX_CONNECT), RDMACPY_E_NODEV);
	cr_assert_eq(rcp_err_public(-EKEYREJECTED, RCP_CTX_CONNECT), RDMACPY_E_AUTH);
}
