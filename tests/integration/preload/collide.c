/*
 * The collisions test (after libfiu's tests/collisions): this program defines,
 * as its own global symbols, every internal name of libfaultline-preload.so.
 * With the shim preloaded and armed, the program's names must still be its
 * own (the shim exports only the hooked libc names) and the shim must still
 * work (its internal references never bind to the program's definitions).
 * test_collisions.py checks that this list covers every internal symbol.
 *
 * Prints "own names ok" if every definition below is the program's, then
 * makes one write(2) to fd 1 and reports its result.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

long fl_area = 1000;
long fl_real = 1001;
long fl_counts = 1002;
long fl_fork_epoch = 1003;
long fl_registered_name = 1004;
long fl_registered_pid = 1005;
long fl_thread_next = 1006;
long fl_tls = 1007;
int fl_accept_slow(void);
int fl_accept_slow(void)
{
	return 1;
}
int fl_act_pre(void);
int fl_act_pre(void)
{
	return 2;
}
int fl_addr_match(void);
int fl_addr_match(void)
{
	return 3;
}
int fl_atfork_child(void);
int fl_atfork_child(void)
{
	return 4;
}
int fl_connect_slow(void);
int fl_connect_slow(void)
{
	return 5;
}
int fl_fd_slow(void);
int fl_fd_slow(void)
{
	return 6;
}
int fl_fini(void);
int fl_fini(void)
{
	return 7;
}
int fl_fire(void);
int fl_fire(void)
{
	return 8;
}
int fl_getaddrinfo_slow(void);
int fl_getaddrinfo_slow(void)
{
	return 9;
}
int fl_init(void);
int fl_init(void)
{
	return 10;
}
int fl_lazy_addr(void);
int fl_lazy_addr(void)
{
	return 11;
}
int fl_lazy_path(void);
int fl_lazy_path(void)
{
	return 12;
}
int fl_map_fd(void);
int fl_map_fd(void)
{
	return 13;
}
int fl_open_slow(void);
int fl_open_slow(void)
{
	return 14;
}
int fl_pread_slow(void);
int fl_pread_slow(void)
{
	return 15;
}
int fl_pwrite_slow(void);
int fl_pwrite_slow(void)
{
	return 16;
}
int fl_raw_accept(void);
int fl_raw_accept(void)
{
	return 17;
}
int fl_raw_accept4(void);
int fl_raw_accept4(void)
{
	return 18;
}
int fl_raw_close(void);
int fl_raw_close(void)
{
	return 19;
}
int fl_raw_connect(void);
int fl_raw_connect(void)
{
	return 20;
}
int fl_raw_fdatasync(void);
int fl_raw_fdatasync(void)
{
	return 21;
}
int fl_raw_fsync(void);
int fl_raw_fsync(void)
{
	return 22;
}
int fl_raw_getaddrinfo(void);
int fl_raw_getaddrinfo(void)
{
	return 23;
}
int fl_raw_open(void);
int fl_raw_open(void)
{
	return 24;
}
int fl_raw_open_2(void);
int fl_raw_open_2(void)
{
	return 25;
}
int fl_raw_openat(void);
int fl_raw_openat(void)
{
	return 26;
}
int fl_raw_openat_2(void);
int fl_raw_openat_2(void)
{
	return 27;
}
int fl_raw_pread(void);
int fl_raw_pread(void)
{
	return 28;
}
int fl_raw_pread_chk(void);
int fl_raw_pread_chk(void)
{
	return 29;
}
int fl_raw_pwrite(void);
int fl_raw_pwrite(void)
{
	return 30;
}
int fl_raw_read(void);
int fl_raw_read(void)
{
	return 31;
}
int fl_raw_read_chk(void);
int fl_raw_read_chk(void)
{
	return 32;
}
int fl_raw_readv(void);
int fl_raw_readv(void)
{
	return 33;
}
int fl_raw_recv(void);
int fl_raw_recv(void)
{
	return 34;
}
int fl_raw_recv_chk(void);
int fl_raw_recv_chk(void)
{
	return 35;
}
int fl_raw_recvfrom(void);
int fl_raw_recvfrom(void)
{
	return 36;
}
int fl_raw_recvfrom_chk(void);
int fl_raw_recvfrom_chk(void)
{
	return 37;
}
int fl_raw_recvmsg(void);
int fl_raw_recvmsg(void)
{
	return 38;
}
int fl_raw_send(void);
int fl_raw_send(void)
{
	return 39;
}
int fl_raw_sendmsg(void);
int fl_raw_sendmsg(void)
{
	return 40;
}
int fl_raw_sendto(void);
int fl_raw_sendto(void)
{
	return 41;
}
int fl_raw_write(void);
int fl_raw_write(void)
{
	return 42;
}
int fl_raw_writev(void);
int fl_raw_writev(void)
{
	return 43;
}
int fl_read_slow(void);
int fl_read_slow(void)
{
	return 44;
}
int fl_readv_slow(void);
int fl_readv_slow(void)
{
	return 45;
}
int fl_recv_slow(void);
int fl_recv_slow(void)
{
	return 46;
}
int fl_recvfrom_slow(void);
int fl_recvfrom_slow(void)
{
	return 47;
}
int fl_recvmsg_slow(void);
int fl_recvmsg_slow(void)
{
	return 48;
}
int fl_register(void);
int fl_register(void)
{
	return 49;
}
int fl_send_slow(void);
int fl_send_slow(void)
{
	return 50;
}
int fl_sendmsg_slow(void);
int fl_sendmsg_slow(void)
{
	return 51;
}
int fl_sendto_slow(void);
int fl_sendto_slow(void)
{
	return 52;
}
int fl_table_ok(void);
int fl_table_ok(void)
{
	return 53;
}
int fl_write_slow(void);
int fl_write_slow(void)
{
	return 54;
}
int fl_writev_slow(void);
int fl_writev_slow(void)
{
	return 55;
}
int fl_decide(void);
int fl_decide(void)
{
	return 56;
}
int fl_match(void);
int fl_match(void)
{
	return 57;
}
int fl_count(void);
int fl_count(void)
{
	return 58;
}
int fl_rand32(void);
int fl_rand32(void)
{
	return 59;
}
int fl_splitmix(void);
int fl_splitmix(void)
{
	return 60;
}
int fl_sleep_ns(void);
int fl_sleep_ns(void)
{
	return 61;
}
int fl_short(void);
int fl_short(void)
{
	return 62;
}
int fl_short_iov(void);
int fl_short_iov(void)
{
	return 63;
}
int fl_prefix(void);
int fl_prefix(void)
{
	return 64;
}
int fl_host_eq(void);
int fl_host_eq(void)
{
	return 65;
}
int fl_expired(void);
int fl_expired(void)
{
	return 66;
}
int fl_armed(void);
int fl_armed(void)
{
	return 67;
}
int fl_resolve(void);
int fl_resolve(void)
{
	return 68;
}

int fl_decide_fd(void);
int fl_decide_fd(void)
{
	return 4242;
}

int fl_connect_armed(void);
int fl_connect_armed(void)
{
	return 5000;
}

int fl_fd_armed(void);
int fl_fd_armed(void)
{
	return 5001;
}

int fl_pread_armed(void);
int fl_pread_armed(void)
{
	return 5002;
}

int fl_pwrite_armed(void);
int fl_pwrite_armed(void)
{
	return 5003;
}

int fl_read_armed(void);
int fl_read_armed(void)
{
	return 5004;
}

int fl_readv_armed(void);
int fl_readv_armed(void)
{
	return 5005;
}

int fl_recv_armed(void);
int fl_recv_armed(void)
{
	return 5006;
}

int fl_recvfrom_armed(void);
int fl_recvfrom_armed(void)
{
	return 5007;
}

int fl_recvmsg_armed(void);
int fl_recvmsg_armed(void)
{
	return 5008;
}

int fl_send_armed(void);
int fl_send_armed(void)
{
	return 5009;
}

int fl_sendmsg_armed(void);
int fl_sendmsg_armed(void)
{
	return 5010;
}

int fl_sendto_armed(void);
int fl_sendto_armed(void)
{
	return 5011;
}

int fl_write_armed(void);
int fl_write_armed(void)
{
	return 5012;
}

int fl_writev_armed(void);
int fl_writev_armed(void)
{
	return 5013;
}

int main(void)
{
	int bad = 0;
	char line[128];
	ssize_t r;

	bad += fl_area != 1000;
	bad += fl_real != 1001;
	bad += fl_counts != 1002;
	bad += fl_fork_epoch != 1003;
	bad += fl_registered_name != 1004;
	bad += fl_registered_pid != 1005;
	bad += fl_thread_next != 1006;
	bad += fl_tls != 1007;
	bad += fl_accept_slow() != 1;
	bad += fl_act_pre() != 2;
	bad += fl_addr_match() != 3;
	bad += fl_atfork_child() != 4;
	bad += fl_connect_slow() != 5;
	bad += fl_fd_slow() != 6;
	bad += fl_fini() != 7;
	bad += fl_fire() != 8;
	bad += fl_getaddrinfo_slow() != 9;
	bad += fl_init() != 10;
	bad += fl_lazy_addr() != 11;
	bad += fl_lazy_path() != 12;
	bad += fl_map_fd() != 13;
	bad += fl_open_slow() != 14;
	bad += fl_pread_slow() != 15;
	bad += fl_pwrite_slow() != 16;
	bad += fl_raw_accept() != 17;
	bad += fl_raw_accept4() != 18;
	bad += fl_raw_close() != 19;
	bad += fl_raw_connect() != 20;
	bad += fl_raw_fdatasync() != 21;
	bad += fl_raw_fsync() != 22;
	bad += fl_raw_getaddrinfo() != 23;
	bad += fl_raw_open() != 24;
	bad += fl_raw_open_2() != 25;
	bad += fl_raw_openat() != 26;
	bad += fl_raw_openat_2() != 27;
	bad += fl_raw_pread() != 28;
	bad += fl_raw_pread_chk() != 29;
	bad += fl_raw_pwrite() != 30;
	bad += fl_raw_read() != 31;
	bad += fl_raw_read_chk() != 32;
	bad += fl_raw_readv() != 33;
	bad += fl_raw_recv() != 34;
	bad += fl_raw_recv_chk() != 35;
	bad += fl_raw_recvfrom() != 36;
	bad += fl_raw_recvfrom_chk() != 37;
	bad += fl_raw_recvmsg() != 38;
	bad += fl_raw_send() != 39;
	bad += fl_raw_sendmsg() != 40;
	bad += fl_raw_sendto() != 41;
	bad += fl_raw_write() != 42;
	bad += fl_raw_writev() != 43;
	bad += fl_read_slow() != 44;
	bad += fl_readv_slow() != 45;
	bad += fl_recv_slow() != 46;
	bad += fl_recvfrom_slow() != 47;
	bad += fl_recvmsg_slow() != 48;
	bad += fl_register() != 49;
	bad += fl_send_slow() != 50;
	bad += fl_sendmsg_slow() != 51;
	bad += fl_sendto_slow() != 52;
	bad += fl_table_ok() != 53;
	bad += fl_write_slow() != 54;
	bad += fl_writev_slow() != 55;
	bad += fl_decide() != 56;
	bad += fl_match() != 57;
	bad += fl_count() != 58;
	bad += fl_rand32() != 59;
	bad += fl_splitmix() != 60;
	bad += fl_sleep_ns() != 61;
	bad += fl_short() != 62;
	bad += fl_short_iov() != 63;
	bad += fl_prefix() != 64;
	bad += fl_host_eq() != 65;
	bad += fl_expired() != 66;
	bad += fl_armed() != 67;
	bad += fl_resolve() != 68;
	bad += fl_decide_fd() != 4242;
	bad += fl_connect_armed() != 5000;
	bad += fl_fd_armed() != 5001;
	bad += fl_pread_armed() != 5002;
	bad += fl_pwrite_armed() != 5003;
	bad += fl_read_armed() != 5004;
	bad += fl_readv_armed() != 5005;
	bad += fl_recv_armed() != 5006;
	bad += fl_recvfrom_armed() != 5007;
	bad += fl_recvmsg_armed() != 5008;
	bad += fl_send_armed() != 5009;
	bad += fl_sendmsg_armed() != 5010;
	bad += fl_sendto_armed() != 5011;
	bad += fl_write_armed() != 5012;
	bad += fl_writev_armed() != 5013;
	snprintf(line, sizeof(line), "own names %s\n", bad ? "BROKEN" : "ok");
	syscall(SYS_write, 2, line, strlen(line));
	r = write(1, "x\n", 2);
	snprintf(line, sizeof(line), "write ret=%zd errno=%s\n", r,
		 r < 0 ? strerrorname_np(errno) : "0");
	syscall(SYS_write, 2, line, strlen(line));
	return bad ? 1 : 0;
}
