/* The store's two record forms (common/store_records.c): records are
 * written with integer keys and enums as numbers (PROTOCOL.md §7.5), and
 * records written by builds before session 7 — wire names as keys, enums as
 * names — still read. Unknown keys of either kind are skipped; a damaged
 * record is GL_ESTORAGE, never a read outside it. */
#include "../common/gl.h"
#include "../common/store_records.h"
#include "tap.h"
#include "support/old_records.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The exact bytes the encoder of the build before session 7 (main at
 * 467980d) wrote for the records of full_event, full_dispatch and
 * full_history below. */
static const unsigned char old_event_bytes[] = {
    0xde, 0x00, 0x1f, 0xa2, 0x69, 0x64, 0xa8, 0x54, 0x31, 0x37, 0x2d, 0x30,
    0x30, 0x30, 0x31, 0xa3, 0x73, 0x65, 0x71, 0xcd, 0x10, 0x92, 0xa4, 0x6b,
    0x69, 0x6e, 0x64, 0xa5, 0x61, 0x6c, 0x65, 0x72, 0x74, 0xa8, 0x63, 0x61,
    0x74, 0x65, 0x67, 0x6f, 0x72, 0x79, 0xa4, 0x66, 0x69, 0x72, 0x65, 0xa9,
    0x63, 0x6f, 0x6d, 0x6d, 0x75, 0x6e, 0x69, 0x74, 0x79, 0xa6, 0x68, 0x65,
    0x70, 0x69, 0x6e, 0x67, 0xa8, 0x63, 0x6f, 0x6d, 0x70, 0x6f, 0x75, 0x6e,
    0x64, 0xa9, 0x68, 0x65, 0x70, 0x69, 0x6e, 0x67, 0x2d, 0x63, 0x31, 0xa4,
    0x67, 0x72, 0x69, 0x64, 0xa9, 0x68, 0x65, 0x70, 0x69, 0x6e, 0x67, 0x2d,
    0x67, 0x31, 0xa8, 0x74, 0x65, 0x72, 0x6d, 0x69, 0x6e, 0x61, 0x6c, 0xaa,
    0x63, 0x61, 0x6c, 0x6c, 0x62, 0x6f, 0x78, 0x2d, 0x31, 0x37, 0xa7, 0x61,
    0x64, 0x64, 0x72, 0x65, 0x73, 0x73, 0xab, 0x33, 0x20, 0x48, 0x65, 0x70,
    0x69, 0x6e, 0x67, 0x20, 0x52, 0x64, 0xa3, 0x6c, 0x61, 0x74, 0xcb, 0x40,
    0x43, 0x3e, 0x5c, 0x91, 0xd1, 0x4e, 0x3c, 0xa3, 0x6c, 0x6f, 0x6e, 0xcb,
    0x40, 0x5a, 0x8e, 0xc7, 0x10, 0xcb, 0x29, 0x5f, 0xa4, 0x74, 0x65, 0x78,
    0x74, 0xb3, 0x73, 0x6d, 0x6f, 0x6b, 0x65, 0x20, 0x6f, 0x6e, 0x20, 0x74,
    0x68, 0x65, 0x20, 0x73, 0x74, 0x61, 0x69, 0x72, 0x73, 0xa7, 0x63, 0x6f,
    0x6e, 0x74, 0x61, 0x63, 0x74, 0xab, 0x31, 0x33, 0x38, 0x30, 0x30, 0x30,
    0x30, 0x30, 0x30, 0x30, 0x30, 0xa7, 0x75, 0x72, 0x67, 0x65, 0x6e, 0x63,
    0x79, 0xa9, 0x49, 0x6d, 0x6d, 0x65, 0x64, 0x69, 0x61, 0x74, 0x65, 0xa8,
    0x73, 0x65, 0x76, 0x65, 0x72, 0x69, 0x74, 0x79, 0xa6, 0x53, 0x65, 0x76,
    0x65, 0x72, 0x65, 0xa9, 0x63, 0x65, 0x72, 0x74, 0x61, 0x69, 0x6e, 0x74,
    0x79, 0xa8, 0x4f, 0x62, 0x73, 0x65, 0x72, 0x76, 0x65, 0x64, 0xa5, 0x73,
    0x74, 0x61, 0x74, 0x65, 0xa8, 0x61, 0x63, 0x63, 0x65, 0x70, 0x74, 0x65,
    0x64, 0xa4, 0x74, 0x65, 0x61, 0x6d, 0xab, 0x68, 0x65, 0x70, 0x69, 0x6e,
    0x67, 0x2d, 0x66, 0x69, 0x72, 0x65, 0xaa, 0x63, 0x72, 0x65, 0x61, 0x74,
    0x65, 0x64, 0x5f, 0x6d, 0x73, 0xcf, 0x00, 0x00, 0x01, 0xa2, 0x21, 0x82,
    0x46, 0x7a, 0xaa, 0x75, 0x70, 0x64, 0x61, 0x74, 0x65, 0x64, 0x5f, 0x6d,
    0x73, 0xcf, 0x00, 0x00, 0x01, 0xa2, 0x21, 0x82, 0x48, 0x20, 0xa9, 0x70,
    0x6c, 0x61, 0x6e, 0x5f, 0x73, 0x74, 0x65, 0x70, 0x02, 0xae, 0x65, 0x73,
    0x63, 0x61, 0x6c, 0x61, 0x74, 0x65, 0x5f, 0x61, 0x74, 0x5f, 0x6d, 0x73,
    0xcf, 0x00, 0x00, 0x01, 0xa2, 0x21, 0x82, 0xbb, 0xaa, 0xa5, 0x61, 0x6c,
    0x61, 0x72, 0x6d, 0xaa, 0x75, 0x6e, 0x61, 0x6e, 0x73, 0x77, 0x65, 0x72,
    0x65, 0x64, 0xaa, 0x73, 0x69, 0x67, 0x6e, 0x5f, 0x62, 0x79, 0x5f, 0x6d,
    0x73, 0xcf, 0x00, 0x00, 0x01, 0xa2, 0x21, 0x83, 0x90, 0x40, 0xa6, 0x64,
    0x75, 0x65, 0x5f, 0x6d, 0x73, 0xcf, 0x00, 0x00, 0x01, 0xa2, 0x21, 0x89,
    0xaa, 0xc0, 0xac, 0x72, 0x65, 0x6d, 0x69, 0x6e, 0x64, 0x5f, 0x61, 0x74,
    0x5f, 0x6d, 0x73, 0xcf, 0x00, 0x00, 0x01, 0xa2, 0x21, 0x88, 0x24, 0x20,
    0xae, 0x6c, 0x65, 0x61, 0x73, 0x65, 0x5f, 0x75, 0x6e, 0x74, 0x69, 0x6c,
    0x5f, 0x6d, 0x73, 0xcf, 0x00, 0x00, 0x01, 0xa2, 0x21, 0x85, 0x16, 0xe0,
    0xab, 0x63, 0x6c, 0x6f, 0x73, 0x65, 0x5f, 0x61, 0x74, 0x5f, 0x6d, 0x73,
    0xcf, 0x00, 0x00, 0x01, 0xa2, 0x21, 0x8b, 0x31, 0x60, 0xac, 0x65, 0x78,
    0x74, 0x65, 0x6e, 0x73, 0x69, 0x6f, 0x6e, 0x5f, 0x6d, 0x73, 0xcf, 0x00,
    0x00, 0x01, 0xa2, 0x21, 0x8c, 0xb8, 0x00, 0xa6, 0x72, 0x61, 0x74, 0x69,
    0x6e, 0x67, 0xab, 0x75, 0x6e, 0x73, 0x61, 0x74, 0x69, 0x73, 0x66, 0x69,
    0x65, 0x64, 0xac, 0x64, 0x75, 0x70, 0x6c, 0x69, 0x63, 0x61, 0x74, 0x65,
    0x5f, 0x6f, 0x66, 0xa8, 0x54, 0x31, 0x37, 0x2d, 0x30, 0x30, 0x30, 0x30,
};
static const unsigned char old_dispatch_bytes[] = {
    0x8b, 0xa5, 0x65, 0x76, 0x65, 0x6e, 0x74, 0xa8, 0x54, 0x31, 0x37, 0x2d,
    0x30, 0x30, 0x30, 0x31, 0xa3, 0x73, 0x65, 0x71, 0xcd, 0x10, 0x92, 0xa4,
    0x74, 0x65, 0x61, 0x6d, 0xab, 0x68, 0x65, 0x70, 0x69, 0x6e, 0x67, 0x2d,
    0x66, 0x69, 0x72, 0x65, 0xa4, 0x72, 0x6f, 0x6c, 0x65, 0xa5, 0x73, 0x71,
    0x75, 0x61, 0x64, 0xa5, 0x73, 0x74, 0x61, 0x74, 0x65, 0xa8, 0x64, 0x65,
    0x63, 0x6c, 0x69, 0x6e, 0x65, 0x64, 0xa6, 0x6d, 0x65, 0x6d, 0x62, 0x65,
    0x72, 0xa4, 0x77, 0x61, 0x6e, 0x67, 0xa4, 0x6e, 0x6f, 0x74, 0x65, 0xad,
    0x6f, 0x75, 0x74, 0x20, 0x6f, 0x6e, 0x20, 0x61, 0x20, 0x63, 0x61, 0x6c,
    0x6c, 0xa8, 0x61, 0x74, 0x74, 0x65, 0x6d, 0x70, 0x74, 0x73, 0x03, 0xaa,
    0x63, 0x72, 0x65, 0x61, 0x74, 0x65, 0x64, 0x5f, 0x6d, 0x73, 0xcf, 0x00,
    0x00, 0x01, 0xa2, 0x21, 0x82, 0x46, 0x7a, 0xaa, 0x75, 0x70, 0x64, 0x61,
    0x74, 0x65, 0x64, 0x5f, 0x6d, 0x73, 0xcf, 0x00, 0x00, 0x01, 0xa2, 0x21,
    0x82, 0x48, 0x20, 0xad, 0x6e, 0x65, 0x78, 0x74, 0x5f, 0x72, 0x65, 0x74,
    0x72, 0x79, 0x5f, 0x6d, 0x73, 0xcf, 0x00, 0x00, 0x01, 0xa2, 0x21, 0x82,
    0xbb, 0xaa,
};
static const unsigned char old_history_bytes[] = {
    0x86, 0xa3, 0x73, 0x65, 0x71, 0xcd, 0x10, 0x92, 0xa2, 0x6e, 0x6f, 0x07,
    0xa5, 0x61, 0x74, 0x5f, 0x6d, 0x73, 0xcf, 0x00, 0x00, 0x01, 0xa2, 0x21,
    0x82, 0x48, 0x20, 0xa3, 0x77, 0x68, 0x6f, 0xb5, 0x74, 0x65, 0x61, 0x6d,
    0x3a, 0x68, 0x65, 0x70, 0x69, 0x6e, 0x67, 0x2d, 0x66, 0x69, 0x72, 0x65,
    0x2f, 0x77, 0x61, 0x6e, 0x67, 0xa4, 0x77, 0x68, 0x61, 0x74, 0xb1, 0x72,
    0x61, 0x74, 0x65, 0x64, 0x20, 0x75, 0x6e, 0x73, 0x61, 0x74, 0x69, 0x73,
    0x66, 0x69, 0x65, 0x64, 0xa4, 0x6e, 0x6f, 0x74, 0x65, 0xaf, 0xe6, 0xbc,
    0x8f, 0xe6, 0xb0, 0xb4, 0xef, 0xbc, 0x8c, 0xe4, 0xb8, 0x89, 0xe6, 0xa5,
    0xbc,
};

/* The exact bytes the encoder of session 7 before compact timestamps
 * (main at 3c63509: integer keys, every time whole, "seq": true) wrote for
 * the same records, and for filed_event, odd_event and pending_dispatch
 * below. The history entry's are this build's too. */
static const unsigned char s7_event_bytes[] = {
    0xde, 0x00, 0x1f, 0xa3, 0x73, 0x65, 0x71, 0xc3, 0x01, 0xa8, 0x54, 0x31,
    0x37, 0x2d, 0x30, 0x30, 0x30, 0x31, 0x03, 0x02, 0x04, 0xa4, 0x66, 0x69,
    0x72, 0x65, 0x05, 0xa6, 0x68, 0x65, 0x70, 0x69, 0x6e, 0x67, 0x06, 0xa9,
    0x68, 0x65, 0x70, 0x69, 0x6e, 0x67, 0x2d, 0x63, 0x31, 0x07, 0xa9, 0x68,
    0x65, 0x70, 0x69, 0x6e, 0x67, 0x2d, 0x67, 0x31, 0x08, 0xaa, 0x63, 0x61,
    0x6c, 0x6c, 0x62, 0x6f, 0x78, 0x2d, 0x31, 0x37, 0x09, 0xab, 0x33, 0x20,
    0x48, 0x65, 0x70, 0x69, 0x6e, 0x67, 0x20, 0x52, 0x64, 0x0a, 0xcb, 0x40,
    0x43, 0x3e, 0x5c, 0x91, 0xd1, 0x4e, 0x3c, 0x0b, 0xcb, 0x40, 0x5a, 0x8e,
    0xc7, 0x10, 0xcb, 0x29, 0x5f, 0x0c, 0xb3, 0x73, 0x6d, 0x6f, 0x6b, 0x65,
    0x20, 0x6f, 0x6e, 0x20, 0x74, 0x68, 0x65, 0x20, 0x73, 0x74, 0x61, 0x69,
    0x72, 0x73, 0x0d, 0xab, 0x31, 0x33, 0x38, 0x30, 0x30, 0x30, 0x30, 0x30,
    0x30, 0x30, 0x30, 0x0e, 0x01, 0x0f, 0x02, 0x10, 0x01, 0x11, 0x03, 0x12,
    0xab, 0x68, 0x65, 0x70, 0x69, 0x6e, 0x67, 0x2d, 0x66, 0x69, 0x72, 0x65,
    0x13, 0xcf, 0x00, 0x00, 0x01, 0xa2, 0x21, 0x82, 0x46, 0x7a, 0x14, 0xcf,
    0x00, 0x00, 0x01, 0xa2, 0x21, 0x82, 0x48, 0x20, 0x15, 0x02, 0x16, 0xcf,
    0x00, 0x00, 0x01, 0xa2, 0x21, 0x82, 0xbb, 0xaa, 0x17, 0x01, 0x18, 0xcf,
    0x00, 0x00, 0x01, 0xa2, 0x21, 0x83, 0x90, 0x40, 0x19, 0xcf, 0x00, 0x00,
    0x01, 0xa2, 0x21, 0x89, 0xaa, 0xc0, 0x1a, 0xcf, 0x00, 0x00, 0x01, 0xa2,
    0x21, 0x88, 0x24, 0x20, 0x1b, 0xcf, 0x00, 0x00, 0x01, 0xa2, 0x21, 0x85,
    0x16, 0xe0, 0x1c, 0xcf, 0x00, 0x00, 0x01, 0xa2, 0x21, 0x8b, 0x31, 0x60,
    0x1d, 0xcf, 0x00, 0x00, 0x01, 0xa2, 0x21, 0x8c, 0xb8, 0x00, 0x1e, 0x02,
    0x1f, 0xa8, 0x54, 0x31, 0x37, 0x2d, 0x30, 0x30, 0x30, 0x30,
};
static const unsigned char s7_dispatch_bytes[] = {
    0x8a, 0xa3, 0x73, 0x65, 0x71, 0xc3, 0x01, 0xa8, 0x54, 0x31, 0x37, 0x2d,
    0x30, 0x30, 0x30, 0x31, 0x04, 0x04, 0x05, 0x04, 0x06, 0xa4, 0x77, 0x61,
    0x6e, 0x67, 0x07, 0xad, 0x6f, 0x75, 0x74, 0x20, 0x6f, 0x6e, 0x20, 0x61,
    0x20, 0x63, 0x61, 0x6c, 0x6c, 0x08, 0x03, 0x09, 0xcf, 0x00, 0x00, 0x01,
    0xa2, 0x21, 0x82, 0x46, 0x7a, 0x0a, 0xcf, 0x00, 0x00, 0x01, 0xa2, 0x21,
    0x82, 0x48, 0x20, 0x0b, 0xcf, 0x00, 0x00, 0x01, 0xa2, 0x21, 0x82, 0xbb,
    0xaa,
};
static const unsigned char s7_history_bytes[] = {
    0x84, 0x03, 0xcf, 0x00, 0x00, 0x01, 0xa2, 0x21, 0x82, 0x48, 0x20, 0x04,
    0xb5, 0x74, 0x65, 0x61, 0x6d, 0x3a, 0x68, 0x65, 0x70, 0x69, 0x6e, 0x67,
    0x2d, 0x66, 0x69, 0x72, 0x65, 0x2f, 0x77, 0x61, 0x6e, 0x67, 0x05, 0x1a,
    0x06, 0xaf, 0xe6, 0xbc, 0x8f, 0xe6, 0xb0, 0xb4, 0xef, 0xbc, 0x8c, 0xe4,
    0xb8, 0x89, 0xe6, 0xa5, 0xbc,
};

static const unsigned char s7_filed_event_bytes[] = {
    0xde, 0x00, 0x13, 0xa3, 0x73, 0x65, 0x71, 0xc3, 0x01, 0xa8, 0x54, 0x31,
    0x37, 0x2d, 0x30, 0x30, 0x30, 0x32, 0x03, 0x02, 0x04, 0xa4, 0x66, 0x69,
    0x72, 0x65, 0x05, 0xa6, 0x68, 0x65, 0x70, 0x69, 0x6e, 0x67, 0x07, 0xa9,
    0x68, 0x65, 0x70, 0x69, 0x6e, 0x67, 0x2d, 0x67, 0x31, 0x08, 0xaa, 0x63,
    0x61, 0x6c, 0x6c, 0x62, 0x6f, 0x78, 0x2d, 0x31, 0x37, 0x0c, 0xa5, 0x73,
    0x6d, 0x6f, 0x6b, 0x65, 0x11, 0x01, 0x13, 0xcf, 0x00, 0x00, 0x01, 0xa2,
    0x21, 0x82, 0x46, 0x7a, 0x14, 0xcf, 0x00, 0x00, 0x01, 0xa2, 0x21, 0x82,
    0x46, 0x7a, 0x15, 0x00, 0x16, 0xcf, 0x00, 0x00, 0x01, 0xa2, 0x21, 0x82,
    0xbb, 0xaa, 0x18, 0x00, 0x19, 0x00, 0x1a, 0x00, 0x1b, 0x00, 0x1c, 0x00,
    0x1d, 0x00,
};
static const unsigned char s7_odd_event_bytes[] = {
    0x8e, 0xa3, 0x73, 0x65, 0x71, 0xc3, 0x01, 0xa8, 0x54, 0x31, 0x37, 0x2d,
    0x30, 0x30, 0x30, 0x33, 0x03, 0x00, 0x11, 0x03, 0x13, 0xcf, 0x00, 0x00,
    0x01, 0xa2, 0x21, 0x82, 0x46, 0x7a, 0x14, 0xcf, 0x00, 0x00, 0x01, 0xa2,
    0x21, 0x82, 0x44, 0x38, 0x15, 0x00, 0x16, 0x00, 0x18, 0x01, 0x19, 0xcf,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x1a, 0x00, 0x1b, 0x00,
    0x1c, 0xcf, 0x00, 0x00, 0x01, 0xa2, 0x21, 0x82, 0x46, 0x7a, 0x1d, 0x00,
};
static const unsigned char s7_pending_dispatch_bytes[] = {
    0x88, 0xa3, 0x73, 0x65, 0x71, 0xc3, 0x01, 0xa8, 0x54, 0x31, 0x37, 0x2d,
    0x30, 0x30, 0x30, 0x32, 0x04, 0x01, 0x05, 0x01, 0x08, 0x01, 0x09, 0xcf,
    0x00, 0x00, 0x01, 0xa2, 0x21, 0x82, 0x46, 0x7a, 0x0a, 0xcf, 0x00, 0x00,
    0x01, 0xa2, 0x21, 0x82, 0x46, 0x7a, 0x0b, 0xcf, 0x00, 0x00, 0x01, 0xa2,
    0x21, 0x82, 0x5a, 0x02,
};

/* The bytes this build writes for the same records (PROTOCOL.md §7.5):
 * pinned, so that a key or a name's number that moves shows here. */
static const unsigned char new_event_bytes[] = {
    0xde, 0x00, 0x1f, 0xa3, 0x73, 0x65, 0x71, 0xc0, 0x01, 0xa8, 0x54, 0x31,
    0x37, 0x2d, 0x30, 0x30, 0x30, 0x31, 0x03, 0x02, 0x04, 0xa4, 0x66, 0x69,
    0x72, 0x65, 0x05, 0xa6, 0x68, 0x65, 0x70, 0x69, 0x6e, 0x67, 0x06, 0xa9,
    0x68, 0x65, 0x70, 0x69, 0x6e, 0x67, 0x2d, 0x63, 0x31, 0x07, 0xa9, 0x68,
    0x65, 0x70, 0x69, 0x6e, 0x67, 0x2d, 0x67, 0x31, 0x08, 0xaa, 0x63, 0x61,
    0x6c, 0x6c, 0x62, 0x6f, 0x78, 0x2d, 0x31, 0x37, 0x09, 0xab, 0x33, 0x20,
    0x48, 0x65, 0x70, 0x69, 0x6e, 0x67, 0x20, 0x52, 0x64, 0x0a, 0xcb, 0x40,
    0x43, 0x3e, 0x5c, 0x91, 0xd1, 0x4e, 0x3c, 0x0b, 0xcb, 0x40, 0x5a, 0x8e,
    0xc7, 0x10, 0xcb, 0x29, 0x5f, 0x0c, 0xb3, 0x73, 0x6d, 0x6f, 0x6b, 0x65,
    0x20, 0x6f, 0x6e, 0x20, 0x74, 0x68, 0x65, 0x20, 0x73, 0x74, 0x61, 0x69,
    0x72, 0x73, 0x0d, 0xab, 0x31, 0x33, 0x38, 0x30, 0x30, 0x30, 0x30, 0x30,
    0x30, 0x30, 0x30, 0x0e, 0x01, 0x0f, 0x02, 0x10, 0x01, 0x11, 0x03, 0x12,
    0xab, 0x68, 0x65, 0x70, 0x69, 0x6e, 0x67, 0x2d, 0x66, 0x69, 0x72, 0x65,
    0x13, 0xcf, 0x00, 0x00, 0x01, 0xa2, 0x21, 0x82, 0x46, 0x7a, 0x20, 0xcd,
    0x01, 0xa6, 0x15, 0x02, 0x21, 0xcd, 0x75, 0x30, 0x17, 0x01, 0x22, 0xce,
    0x00, 0x01, 0x49, 0xc6, 0x23, 0xce, 0x00, 0x07, 0x64, 0x46, 0x24, 0xce,
    0x00, 0x05, 0xdd, 0xa6, 0x25, 0xce, 0x00, 0x02, 0xd0, 0x66, 0x26, 0xce,
    0x00, 0x08, 0xea, 0xe6, 0x27, 0xce, 0x00, 0x0a, 0x71, 0x86, 0x1e, 0x02,
    0x1f, 0xa8, 0x54, 0x31, 0x37, 0x2d, 0x30, 0x30, 0x30, 0x30,
};
static const unsigned char new_dispatch_bytes[] = {
    0x8a, 0xa3, 0x73, 0x65, 0x71, 0xc0, 0x01, 0xa8, 0x54, 0x31, 0x37, 0x2d,
    0x30, 0x30, 0x30, 0x31, 0x04, 0x04, 0x05, 0x04, 0x06, 0xa4, 0x77, 0x61,
    0x6e, 0x67, 0x07, 0xad, 0x6f, 0x75, 0x74, 0x20, 0x6f, 0x6e, 0x20, 0x61,
    0x20, 0x63, 0x61, 0x6c, 0x6c, 0x08, 0x03, 0x09, 0xcf, 0x00, 0x00, 0x01,
    0xa2, 0x21, 0x82, 0x46, 0x7a, 0x0c, 0xcd, 0x01, 0xa6, 0x0d, 0xcd, 0x75,
    0x30,
};
static const unsigned char new_filed_event_bytes[] = {
    0x8c, 0xa3, 0x73, 0x65, 0x71, 0xc0, 0x01, 0xa8, 0x54, 0x31, 0x37, 0x2d,
    0x30, 0x30, 0x30, 0x32, 0x03, 0x02, 0x04, 0xa4, 0x66, 0x69, 0x72, 0x65,
    0x05, 0xa6, 0x68, 0x65, 0x70, 0x69, 0x6e, 0x67, 0x07, 0xa9, 0x68, 0x65,
    0x70, 0x69, 0x6e, 0x67, 0x2d, 0x67, 0x31, 0x08, 0xaa, 0x63, 0x61, 0x6c,
    0x6c, 0x62, 0x6f, 0x78, 0x2d, 0x31, 0x37, 0x0c, 0xa5, 0x73, 0x6d, 0x6f,
    0x6b, 0x65, 0x11, 0x01, 0x13, 0xcf, 0x00, 0x00, 0x01, 0xa2, 0x21, 0x82,
    0x46, 0x7a, 0x20, 0x00, 0x21, 0xcd, 0x75, 0x30,
};
static const unsigned char new_odd_event_bytes[] = {
    0x89, 0xa3, 0x73, 0x65, 0x71, 0xc0, 0x01, 0xa8, 0x54, 0x31, 0x37, 0x2d,
    0x30, 0x30, 0x30, 0x33, 0x03, 0x00, 0x11, 0x03, 0x13, 0xcf, 0x00, 0x00,
    0x01, 0xa2, 0x21, 0x82, 0x46, 0x7a, 0x20, 0xd1, 0xfd, 0xbe, 0x18, 0x01,
    0x19, 0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x26, 0x00,
};
static const unsigned char new_pending_dispatch_bytes[] = {
    0x88, 0xa3, 0x73, 0x65, 0x71, 0xc0, 0x01, 0xa8, 0x54, 0x31, 0x37, 0x2d,
    0x30, 0x30, 0x30, 0x32, 0x04, 0x01, 0x05, 0x01, 0x08, 0x01, 0x09, 0xcf,
    0x00, 0x00, 0x01, 0xa2, 0x21, 0x82, 0x46, 0x7a, 0x0c, 0x00, 0x0d, 0xcd,
    0x13, 0x88,
};

/* Every field set: names from the stored tables where there is one. */
static const gl_event full_event = {
    .id = "T17-0001", .seq = 4242, .kind = GL_KIND_ALERT, .category = "fire",
    .community = "heping", .compound = "heping-c1", .grid = "heping-g1",
    .terminal = "callbox-17", .address = "3 Heping Rd", .has_coords = 1, .lat = 38.4872,
    .lon = 106.2309, .text = "smoke on the stairs", .contact = "13800000000",
    .urgency = "Immediate", .severity = "Severe", .certainty = "Observed",
    .state = GL_EV_ACCEPTED, .team = "heping-fire", .created_ms = 1795858515578ull,
    .updated_ms = 1795858516000ull, .plan_step = 2, .escalate_at_ms = 1795858545578ull,
    .alarm = "unanswered", .sign_by_ms = 1795858600000ull, .due_ms = 1795859000000ull,
    .remind_at_ms = 1795858900000ull, .lease_until_ms = 1795858700000ull,
    .close_at_ms = 1795859100000ull, .extension_ms = 1795859200000ull,
    .rating = "unsatisfied", .duplicate_of = "T17-0000"};
static const gl_dispatch full_dispatch = {
    .event = "T17-0001", .seq = 4242, .team = "heping-fire", .role = "squad",
    .state = GL_DS_DECLINED, .member = "wang", .note = "out on a call", .attempts = 3,
    .created_ms = 1795858515578ull, .updated_ms = 1795858516000ull,
    .next_retry_ms = 1795858545578ull};
static const gl_history full_history = {.seq = 4242, .no = 7, .at_ms = 1795858516000ull,
                                        .who = "team:heping-fire/wang",
                                        .what = "rated unsatisfied", .note = "漏水，三楼"};

/* Shapes of records as the service writes them, and times the delta form
 * cannot hold (far before created_ms, the largest), for the pinned bytes
 * of both integer-key forms. */
static const gl_event filed_event = {
    .id = "T17-0002", .kind = GL_KIND_ALERT, .category = "fire", .community = "heping",
    .grid = "heping-g1", .terminal = "callbox-17", .text = "smoke", .state = GL_EV_FILED,
    .created_ms = 1795858515578ull, .updated_ms = 1795858515578ull,
    .escalate_at_ms = 1795858545578ull};
static const gl_event odd_event = {
    .id = "T17-0003", .state = GL_EV_ACCEPTED, .created_ms = 1795858515578ull,
    .updated_ms = 1795858515000ull, .due_ms = UINT64_MAX, .sign_by_ms = 1,
    .close_at_ms = 1795858515578ull};
static const gl_dispatch pending_dispatch = {
    .event = "T17-0002", .team = "heping-fire", .role = "grid", .state = GL_DS_PENDING,
    .attempts = 1, .created_ms = 1795858515578ull, .updated_ms = 1795858515578ull,
    .next_retry_ms = 1795858520578ull};

static int same_str(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

/* same_event names the first field that differs, or NULL. */
static const char *event_differs(const gl_event *a, const gl_event *b)
{
#define S(f) if (!same_str(a->f, b->f)) return #f
#define N(f) if (a->f != b->f) return #f
    S(id); N(seq); N(kind); S(category); S(community); S(compound); S(grid); S(terminal);
    S(address); N(has_coords); N(lat); N(lon); S(text); S(contact); S(urgency); S(severity);
    S(certainty); N(state); S(team); N(created_ms); N(updated_ms); N(plan_step);
    N(escalate_at_ms); S(alarm); N(sign_by_ms); N(due_ms); N(remind_at_ms);
    N(lease_until_ms); N(close_at_ms); N(extension_ms); S(rating); S(duplicate_of);
    return NULL;
}

static const char *dispatch_differs(const gl_dispatch *a, const gl_dispatch *b)
{
    S(event); N(seq); S(team); S(role); N(state); S(member); S(note); N(attempts);
    N(created_ms); N(updated_ms); N(next_retry_ms);
    return NULL;
}

static const char *history_differs(const gl_history *a, const gl_history *b)
{
    N(seq); N(no); N(at_ms); S(who); S(what); S(note);
    return NULL;
#undef S
#undef N
}

static const char *or_none(const char *s)
{
    return s ? s : "none";
}

/* keys_of counts a record's keys by msgpack-c: integer and string ones. */
static int keys_of(const msgpack_sbuffer *sb, int *ints, int *strs)
{
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    int good = msgpack_unpack_next(&u, sb->data, sb->size, &off) == MSGPACK_UNPACK_SUCCESS &&
               off == sb->size && u.data.type == MSGPACK_OBJECT_MAP;
    *ints = *strs = 0;
    for (uint32_t i = 0; good && i < u.data.via.map.size; i++) {
        const msgpack_object *k = &u.data.via.map.ptr[i].key;
        *ints += k->type == MSGPACK_OBJECT_POSITIVE_INTEGER && k->via.u64 < 128;
        *strs += k->type == MSGPACK_OBJECT_STR;
    }
    msgpack_unpacked_destroy(&u);
    return good;
}

/* stored_number is the unsigned value under integer key in the record, or
 * -1 (absent, or not a number). */
static long long stored_number(const msgpack_sbuffer *sb, uint64_t key)
{
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    long long got = -1;
    if (msgpack_unpack_next(&u, sb->data, sb->size, &off) == MSGPACK_UNPACK_SUCCESS &&
        u.data.type == MSGPACK_OBJECT_MAP)
        for (uint32_t i = 0; i < u.data.via.map.size; i++) {
            const msgpack_object_kv *kv = &u.data.via.map.ptr[i];
            if (kv->key.type == MSGPACK_OBJECT_POSITIVE_INTEGER && kv->key.via.u64 == key &&
                kv->val.type == MSGPACK_OBJECT_POSITIVE_INTEGER)
                got = (long long)kv->val.via.u64;
        }
    msgpack_unpacked_destroy(&u);
    return got;
}

/* The LMDB keys of the records (store.c): an event's seq; a dispatch's seq
 * and team; a history entry's seq and no. */
static unsigned char key_buf[8 + 64];

static size_t ev_key(uint64_t seq)
{
    for (int b = 0; b < 8; b++)
        key_buf[b] = (unsigned char)(seq >> (56 - 8 * b));
    return 8;
}

static size_t ds_key(uint64_t seq, const char *team)
{
    size_t n = strlen(team);
    ev_key(seq);
    memcpy(key_buf + 8, team, n);
    return 8 + n;
}

static size_t hi_key(uint64_t seq, uint32_t no)
{
    ev_key(seq);
    for (int b = 0; b < 4; b++)
        key_buf[8 + b] = (unsigned char)(no >> (24 - 8 * b));
    return 12;
}

static int dec_event(const void *data, size_t len, uint64_t seq, gl_event *ev, gl_arena *a)
{
    size_t n = ev_key(seq);
    return store_rec_decode_event(key_buf, n, data, len, ev, a);
}

static int dec_dispatch(const void *data, size_t len, uint64_t seq, const char *team,
                        gl_dispatch *d, gl_arena *a)
{
    size_t n = ds_key(seq, team);
    return store_rec_decode_dispatch(key_buf, n, data, len, d, a);
}

static int dec_history(const void *data, size_t len, uint64_t seq, uint32_t no, gl_history *h,
                       gl_arena *a)
{
    size_t n = hi_key(seq, no);
    return store_rec_decode_history(key_buf, n, data, len, h, a);
}

/* ---- compact timestamps ---- */

/* The bytes of msgpack's smallest form of an unsigned v, and of -n. */
static int usize(uint64_t v)
{
    return v < 0x80 ? 1 : v <= 0xff ? 2 : v <= 0xffff ? 3 : v <= 0xffffffffu ? 5 : 9;
}

static int nsize(uint64_t n)
{
    return n <= 32 ? 1 : n <= 128 ? 2 : n <= 32768 ? 3 : n <= 0x80000000u ? 5 : 9;
}

/* The time fields: the key of the whole form, of the delta form. */
struct tkey {
    int whole, delta;
};
static const struct tkey event_tkeys[] = {{20, 32}, {22, 33}, {24, 34}, {25, 35},
                                          {26, 36}, {27, 37}, {28, 38}, {29, 39}};
static const struct tkey dispatch_tkeys[] = {{10, 12}, {11, 13}};

/* time_form_ok checks how the record in sb holds the time fields times[]
 * (created_ms c, under key ckey): a 0 is left out; any other in exactly
 * one of its forms, and in the delta form only when that is shorter, as
 * the shorter one. The record is what msgpack-c's packer writes for the
 * same values. NULL, or what is wrong. */
static const char *time_form_ok(const msgpack_sbuffer *sb, int ckey, uint64_t c,
                                const struct tkey *keys, size_t nkeys, const uint64_t *times)
{
    static char why[128];
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    const char *bad = NULL;
    if (msgpack_unpack_next(&u, sb->data, sb->size, &off) != MSGPACK_UNPACK_SUCCESS ||
        off != sb->size || u.data.type != MSGPACK_OBJECT_MAP) {
        msgpack_unpacked_destroy(&u);
        return "not one map";
    }
    msgpack_sbuffer again;
    msgpack_sbuffer_init(&again);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &again, msgpack_sbuffer_write);
    if (msgpack_pack_object(&pk, u.data) != 0 || again.size != sb->size ||
        memcmp(again.data, sb->data, sb->size) != 0)
        bad = "not msgpack-c's own bytes";
    msgpack_sbuffer_destroy(&again);
    int seen_c = 0;
    for (size_t k = 0; !bad && k < nkeys; k++) {
        uint64_t t = times[k];
        int whole = 0, delta = 0;
        for (uint32_t i = 0; i < u.data.via.map.size; i++) {
            const msgpack_object_kv *kv = &u.data.via.map.ptr[i];
            if (kv->key.type != MSGPACK_OBJECT_POSITIVE_INTEGER)
                continue;
            if (k == 0 && (int)kv->key.via.u64 == ckey)
                seen_c = kv->val.type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
                         kv->val.via.u64 == c;
            if ((int)kv->key.via.u64 == keys[k].whole) {
                whole++;
                uint64_t d = t >= c ? t - c : c - t;
                int dsize = t >= c ? usize(d) : d <= (uint64_t)1 << 63 ? nsize(d) : 99;
                if (kv->val.type != MSGPACK_OBJECT_POSITIVE_INTEGER || kv->val.via.u64 != t)
                    bad = "the whole form holds another value";
                else if (dsize < usize(t))
                    bad = "whole, where the delta form is shorter";
            } else if ((int)kv->key.via.u64 == keys[k].delta) {
                delta++;
                if (kv->val.type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
                    if (t < c || kv->val.via.u64 != t - c || usize(t - c) >= usize(t))
                        bad = "a delta after created_ms that is wrong or no shorter";
                } else if (kv->val.type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
                    uint64_t n = (uint64_t)0 - (uint64_t)kv->val.via.i64;
                    if (t >= c || n != c - t || nsize(n) >= usize(t))
                        bad = "a delta before created_ms that is wrong or no shorter";
                } else {
                    bad = "a delta that is not an integer";
                }
            }
        }
        if (!bad && whole + delta != (t != 0))
            bad = t ? "a time not in exactly one form" : "a time of 0 written";
        if (bad) {
            snprintf(why, sizeof why, "%s (key %d, time %llu, created %llu)", bad,
                     keys[k].whole, (unsigned long long)t, (unsigned long long)c);
            bad = why;
        }
    }
    if (!bad && seen_c != (c != 0))
        bad = c ? "created_ms not whole" : "created_ms 0 written";
    msgpack_unpacked_destroy(&u);
    return bad;
}

#define TIMES_PER_BASE 64

/* times_around fills out[] with times around c: 0, the extremes, and c
 * plus and minus each width's edge (those that do not wrap). */
static size_t times_around(uint64_t c, uint64_t *out)
{
    static const uint64_t steps[] = {0, 1, 31, 32, 33, 127, 128, 129, 255, 256, 32767,
                                     32768, 32769, 65535, 65536, 0x7fffffffu, 0x80000000u,
                                     0x80000001u, 0xffffffffu, 0x100000000ull,
                                     (uint64_t)1 << 62, ((uint64_t)1 << 63) - 1,
                                     (uint64_t)1 << 63, ((uint64_t)1 << 63) + 1};
    size_t n = 0;
    out[n++] = 0;
    out[n++] = 1;
    out[n++] = UINT64_MAX;
    out[n++] = UINT64_MAX - 1;
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        if (steps[i] <= UINT64_MAX - c)
            out[n++] = c + steps[i];
        if (steps[i] && steps[i] <= c)
            out[n++] = c - steps[i];
    }
    return n;
}

static void time_round_trips(msgpack_sbuffer *sb, gl_arena *arena)
{
    static const uint64_t bases[] = {0, 1, 1795858515578ull, 4294967296ull,
                                     (uint64_t)1 << 63, ((uint64_t)1 << 63) + 5, UINT64_MAX};
    uint64_t times[TIMES_PER_BASE];
    int good = 0, total = 0;
    const char *first_bad = NULL;
    for (size_t b = 0; b < sizeof bases / sizeof bases[0]; b++) {
        uint64_t c = bases[b];
        size_t nt = times_around(c, times);
        /* Each time in every field at once, and the times spread over the
         * fields (each field a different one). */
        for (size_t i = 0; i < nt; i++)
            for (int spread = 0; spread < 2; spread++, total++) {
                uint64_t et[8], dt[2];
                for (size_t k = 0; k < 8; k++)
                    et[k] = times[spread ? (i + k) % nt : i];
                for (size_t k = 0; k < 2; k++)
                    dt[k] = times[spread ? (i + 3 * k + 1) % nt : i];
                gl_event e = {.id = "t", .state = GL_EV_FILED, .created_ms = c,
                              .updated_ms = et[0], .escalate_at_ms = et[1],
                              .sign_by_ms = et[2], .due_ms = et[3], .remind_at_ms = et[4],
                              .lease_until_ms = et[5], .close_at_ms = et[6],
                              .extension_ms = et[7]};
                gl_dispatch dd = {.event = "t", .team = "x", .state = GL_DS_PENDING,
                                  .created_ms = c, .updated_ms = dt[0], .next_retry_ms = dt[1]};
                gl_event eb;
                gl_dispatch db;
                const char *bad = NULL;
                if (store_rec_encode_event(sb, &e) != 0)
                    bad = "event not encoded";
                if (!bad)
                    bad = time_form_ok(sb, 19, c, event_tkeys, 8, et);
                if (!bad && (dec_event(sb->data, sb->size, 0, &eb, arena) != 0 ||
                             event_differs(&eb, &e)))
                    bad = "an event's times do not read back";
                if (!bad && store_rec_encode_dispatch(sb, &dd) != 0)
                    bad = "dispatch not encoded";
                if (!bad)
                    bad = time_form_ok(sb, 9, c, dispatch_tkeys, 2, dt);
                if (!bad && (dec_dispatch(sb->data, sb->size, 0, "x", &db, arena) != 0 ||
                             dispatch_differs(&db, &dd)))
                    bad = "a dispatch's times do not read back";
                good += !bad;
                if (bad && !first_bad) {
                    first_bad = bad;
                    diag("created %llu, time %llu: %s", (unsigned long long)c,
                         (unsigned long long)times[i], bad);
                }
                arena_reset(arena);
            }
    }
    is_int(good, total, "every time field round trips exactly, 0 left out, in the shorter "
                        "form (created_ms 0 and 1, now, 2^32, 2^63, UINT64_MAX; times before "
                        "and after it at each width's edge, 0, 1, UINT64_MAX)");

    /* What it saves: a filed alert and its dispatch. */
    store_rec_encode_event(sb, &filed_event);
    ok(sb->size + 30 == sizeof s7_filed_event_bytes,
       "a filed alert takes 30 bytes fewer (%zu, session 7 %zu)", sb->size,
       sizeof s7_filed_event_bytes);
    store_rec_encode_dispatch(sb, &pending_dispatch);
    ok(sb->size + 14 == sizeof s7_pending_dispatch_bytes,
       "a pending dispatch 14 fewer (%zu, session 7 %zu)", sb->size,
       sizeof s7_pending_dispatch_bytes);

    /* A history entry's only time stays whole: nothing to count it from
     * (its LMDB key holds seq and no). */
    gl_history h0 = {.seq = 1, .no = 1, .at_ms = 0, .what = "filed"}, hb;
    ok(store_rec_encode_history(sb, &h0) == 0 && stored_number(sb, 3) == -1 &&
           dec_history(sb->data, sb->size, 1, 1, &hb, arena) == 0 && hb.at_ms == 0,
       "a history entry's at_ms of 0 is left out and reads as 0");
    h0.at_ms = UINT64_MAX;
    ok(store_rec_encode_history(sb, &h0) == 0 &&
           dec_history(sb->data, sb->size, 1, 1, &hb, arena) == 0 && hb.at_ms == UINT64_MAX,
       "and UINT64_MAX round trips");
    arena_reset(arena);
}

/* A record of the bytes given, decoded from an exact-length heap copy. */
static int dec_bytes(int type, const char *bytes, size_t len, gl_event *ev, gl_dispatch *d,
                     gl_arena *arena)
{
    unsigned char *copy = malloc(len ? len : 1);
    memcpy(copy, bytes, len);
    int rc = type == 0 ? store_rec_decode_event(NULL, 0, copy, len, ev, arena)
                       : store_rec_decode_dispatch(NULL, 0, copy, len, d, arena);
    free(copy);
    return rc;
}

static void time_malformed(msgpack_sbuffer *sb, gl_arena *arena)
{
    gl_event ev;
    gl_dispatch d;
    const struct {
        const char *what;
        int type;
        const char *bytes;
        size_t len;
    } broken[] = {
        {"a delta holding a string", 0, "\x82\x13\x05\x20\xa1x", 6},
        {"a delta holding nil", 0, "\x82\x13\x05\x20\xc0", 5},
        {"a delta holding true", 0, "\x82\x13\x05\x20\xc3", 5},
        {"a delta holding a float", 0, "\x82\x13\x05\x20\xca\x3f\xc0\x00\x00", 9},
        {"a delta before the epoch", 0, "\x82\x13\x0a\x20\xf5", 5},
        {"a delta past UINT64_MAX", 0,
         "\x82\x13\xcf\xff\xff\xff\xff\xff\xff\xff\xfe\x21\x02", 13},
        {"a negative delta without created_ms", 0, "\x81\x22\xff", 3},
        {"a time in both forms", 0, "\x83\x13\x05\x14\x06\x20\x01", 7},
        {"a time in both forms, delta first", 0, "\x83\x13\x05\x27\x01\x1d\x06", 7},
        {"a delta holding an array", 0, "\x82\x13\x05\x20\x91\x01", 6},
        {"a dispatch delta before the epoch", 1, "\x82\x09\x64\x0d\xd0\x9b", 6},
        {"a dispatch time in both forms", 1, "\x83\x09\x05\x0b\x06\x0d\x01", 7},
    };
    /* Without an arena: these records have no id (an event read with its
     * strings must have one), so what refuses them is their times. */
    for (size_t i = 0; i < sizeof broken / sizeof broken[0]; i++)
        is_int(dec_bytes(broken[i].type, broken[i].bytes, broken[i].len, &ev, &d, NULL),
               GL_ESTORAGE, "%s is refused", broken[i].what);

    ok(dec_bytes(0, "\x82\x20\x03\x13\x64", 5, &ev, &d, NULL) == 0 && ev.created_ms == 100 &&
           ev.updated_ms == 103,
       "a delta before created_ms in the map counts from it all the same");
    ok(dec_bytes(0, "\x81\x20\x05", 3, &ev, &d, NULL) == 0 && ev.updated_ms == 5 &&
           ev.created_ms == 0,
       "a delta without created_ms counts from 0");
    ok(dec_bytes(0, "\x82\x13\xcf\xff\xff\xff\xff\xff\xff\xff\xff\x27\xd3\x80\x00\x00\x00\x00"
                    "\x00\x00\x00", 21, &ev, &d, NULL) == 0 &&
           ev.extension_ms == ((uint64_t)1 << 63) - 1,
       "INT64_MIN from UINT64_MAX is 2^63 - 1");
    ok(dec_bytes(0, "\x82\x13\x05\xcc\x21\xd0\x02", 7, &ev, &d, NULL) == 0 &&
           ev.escalate_at_ms == 7,
       "a delta key in a wider form and a positive int 8 read");
    ok(dec_bytes(0, "\x83\x01\xa1x\x28\x07\x13\x05", 8, &ev, &d, arena) == 0 &&
           same_str(ev.id, "x") && ev.created_ms == 5 && ev.extension_ms == 0 &&
           ev.updated_ms == 0,
       "key 40, past the event's delta keys, is skipped");
    ok(dec_bytes(1, "\x83\x09\x64\x0c\xd0\x9c\x0e\x07", 8, &ev, &d, arena) == 0 &&
           d.created_ms == 100 && d.updated_ms == 0 && d.next_retry_ms == 0,
       "a dispatch delta back to 0 reads; key 14 is skipped");
    gl_history h;
    ok(store_rec_decode_history(NULL, 0, "\x82\x03\x05\x07\x01", 5, &h, arena) == 0 &&
           h.at_ms == 5,
       "a history entry has no delta keys: key 7 is skipped");

    /* Every truncation of records with deltas of every width and sign,
     * from exact-length heap copies. */
    gl_event e = {.id = "cut", .created_ms = 1795858515578ull,
                  .updated_ms = 1795858515578ull - 5, .escalate_at_ms = 1795858515578ull - 100,
                  .sign_by_ms = 1795858515578ull - 30000, .due_ms = 1795858515578ull - 70000,
                  .remind_at_ms = 1795858515578ull + 5, .lease_until_ms = 1795858515578ull + 200,
                  .close_at_ms = 1795858515578ull + 70000, .extension_ms = 1};
    store_rec_encode_event(sb, &e);
    int refused = 0, total = 0;
    for (size_t cut = 0; cut <= sb->size; cut++, total++) {
        int rc = dec_bytes(0, sb->data, cut, &ev, &d, arena);
        refused += cut == sb->size ? rc == 0 && !event_differs(&ev, &e) : rc == GL_ESTORAGE;
    }
    is_int(refused, total, "every truncation of an event with deltas of each width and sign is "
                           "refused, the whole reads");
    arena_reset(arena);
}

int main(void)
{
    msgpack_sbuffer sb, other;
    msgpack_sbuffer_init(&sb);
    msgpack_sbuffer_init(&other);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &other, msgpack_sbuffer_write);
    gl_arena arena = {0};
    int ints, strs;
    const char *diff;

    /* 1. The new form: every field round trips, under integer keys. */
    gl_event ev;
    ok(store_rec_encode_event(&sb, &full_event) == 0 && keys_of(&sb, &ints, &strs) &&
           ints == 30 && strs == 1,
       "an event with every field: 30 integer keys (no seq) and the old builds' guard (%zu "
       "bytes, "
       "%zu before)", sb.size, sizeof old_event_bytes);
    ok(sb.size < sizeof old_event_bytes / 2, "under half the bytes of the string-keyed record");
    diff = dec_event(sb.data, sb.size, 4242, &ev, &arena) == 0
               ? event_differs(&ev, &full_event)
               : "the record";
    ok(!diff, "and every field reads back (differs: %s)", or_none(diff));
    gl_dispatch d;
    ok(store_rec_encode_dispatch(&sb, &full_dispatch) == 0 && keys_of(&sb, &ints, &strs) &&
           ints == 9 && strs == 1 && sb.size < sizeof old_dispatch_bytes / 2,
       "a dispatch: 9 integer keys (no seq, team) and the guard (%zu bytes, %zu before)", sb.size,
       sizeof old_dispatch_bytes);
    diff = dec_dispatch(sb.data, sb.size, 4242, "heping-fire", &d, &arena) == 0
               ? dispatch_differs(&d, &full_dispatch)
               : "the record";
    ok(!diff, "and every field reads back (differs: %s)", or_none(diff));
    gl_history h;
    ok(store_rec_encode_history(&sb, &full_history) == 0 && keys_of(&sb, &ints, &strs) &&
           ints == 4 && strs == 0,
       "a history entry: 4 integer keys (no seq, no), no guard (%zu bytes, %zu before)",
       sb.size,
       sizeof old_history_bytes);
    diff = dec_history(sb.data, sb.size, 4242, 7, &h, &arena) == 0
               ? history_differs(&h, &full_history)
               : "the record";
    ok(!diff, "and every field reads back (differs: %s)", or_none(diff));
    arena_reset(&arena);

    /* The new form's bytes, and the numbers of PROTOCOL.md §7.5. */
    ok(store_rec_encode_event(&sb, &full_event) == 0 && sb.size == sizeof new_event_bytes &&
           memcmp(sb.data, new_event_bytes, sb.size) == 0,
       "the event's bytes are the pinned ones");
    ok(store_rec_encode_dispatch(&sb, &full_dispatch) == 0 &&
           sb.size == sizeof new_dispatch_bytes &&
           memcmp(sb.data, new_dispatch_bytes, sb.size) == 0,
       "the dispatch's bytes are the pinned ones");
    ok(store_rec_encode_history(&sb, &full_history) == 0 &&
           sb.size == sizeof s7_history_bytes &&
           memcmp(sb.data, s7_history_bytes, sb.size) == 0,
       "the history entry's bytes are the pinned ones (as session 7's: nothing to save)");
    {
        const struct {
            const char *what;
            const void *rec;
            int type;
            const unsigned char *bytes;
            size_t len;
        } pinned[] = {
            {"a filed alert", &filed_event, 0, new_filed_event_bytes,
             sizeof new_filed_event_bytes},
            {"an event with odd times", &odd_event, 0, new_odd_event_bytes,
             sizeof new_odd_event_bytes},
            {"a pending dispatch", &pending_dispatch, 1, new_pending_dispatch_bytes,
             sizeof new_pending_dispatch_bytes},
        };
        for (size_t i = 0; i < sizeof pinned / sizeof pinned[0]; i++) {
            int rc = pinned[i].type == 0 ? store_rec_encode_event(&sb, pinned[i].rec)
                                         : store_rec_encode_dispatch(&sb, pinned[i].rec);
            ok(rc == 0 && sb.size == pinned[i].len &&
                   memcmp(sb.data, pinned[i].bytes, sb.size) == 0,
               "%s: the pinned bytes", pinned[i].what);
        }
    }
    static const char *const doc_roles[] = {"grid",     "claim",  "coordinator", "squad",
                                            "property", "owners", "informed",    "triage",
                                            "community", "assigned"};
    static const char *const doc_whats[] = {
        "filed", "dispatched", "acked", "accepted", "declined", "redispatched", "resolved",
        "unrouted", "escalated", "unanswered", "updated", "cancelled", "claimed",
        "claim extended", "released", "returned", "redirected", "confirmed", "disputed",
        "overdue", "extension requested", "extension approved", "merged", "duplicate",
        "rated satisfied", "rated unsatisfied", "reopened", "closed", "dead-lettered",
        "requeued", "dead letter closed"};
    static const char *const rating_doc[] = {"satisfied", "unsatisfied"};
    static const char *const alarm_doc[] = {"unanswered", "overdue"};
    static const char *const doc_cap[][5] = {
        {"Immediate", "Expected", "Future", "Past", "Unknown"},
        {"Extreme", "Severe", "Moderate", "Minor", "Unknown"},
        {"Observed", "Likely", "Possible", "Unlikely", "Unknown"}};
    int numbered = 0, numbers = 0;
    for (size_t i = 0; i < sizeof doc_roles / sizeof doc_roles[0]; i++, numbers++) {
        gl_dispatch de = {.event = "n", .role = doc_roles[i], .state = (int)(i % GL_DS_COUNT)};
        numbered += store_rec_encode_dispatch(&sb, &de) == 0 &&
                    stored_number(&sb, 4) == (long long)i + 1 &&
                    stored_number(&sb, 5) == (long long)(i % GL_DS_COUNT);
    }
    for (size_t i = 0; i < sizeof doc_whats / sizeof doc_whats[0]; i++, numbers++) {
        gl_history he = {.what = doc_whats[i]};
        numbered += store_rec_encode_history(&sb, &he) == 0 &&
                    stored_number(&sb, 5) == (long long)i + 1;
    }
    for (size_t i = 0; i < 5; i++, numbers++) {
        gl_event e = {.id = "n", .urgency = doc_cap[0][i], .severity = doc_cap[1][i],
                      .certainty = doc_cap[2][i], .rating = i < 2 ? rating_doc[i] : NULL,
                      .alarm = i < 2 ? alarm_doc[i] : NULL, .kind = (int)(i % 4),
                      .state = (int)i};
        numbered += store_rec_encode_event(&sb, &e) == 0 &&
                    stored_number(&sb, 14) == (long long)i + 1 &&
                    stored_number(&sb, 15) == (long long)i + 1 &&
                    stored_number(&sb, 16) == (long long)i + 1 &&
                    stored_number(&sb, 30) == (i < 2 ? (long long)i + 1 : -1) &&
                    stored_number(&sb, 23) == (i < 2 ? (long long)i + 1 : -1) &&
                    stored_number(&sb, 3) == (long long)(i % 4) &&
                    stored_number(&sb, 17) == (long long)i;
    }
    is_int(numbered, numbers, "roles, whats, CAP values, ratings, alarms, kinds and states are "
                              "stored as the numbers PROTOCOL.md §7.5 gives");

    /* Every name of every table, and names outside them, round trip. */
    static const char *const names[] = {
        "Immediate", "Expected", "Future", "Past", "Unknown", "Extreme", "Severe", "Moderate",
        "Minor", "Observed", "Likely", "Possible", "Unlikely", "satisfied", "unsatisfied",
        "unanswered", "overdue", "grid", "claim", "coordinator", "squad", "property", "owners",
        "informed", "triage", "community", "assigned", "filed", "dispatched", "acked",
        "accepted", "declined", "redispatched", "resolved", "unrouted", "escalated", "updated",
        "cancelled", "claimed", "claim extended", "released", "returned", "redirected",
        "confirmed", "disputed", "extension requested", "extension approved", "merged",
        "duplicate", "rated satisfied", "rated unsatisfied", "reopened", "closed",
        "dead-lettered", "requeued", "dead letter closed", "", "immediate", "Unknown ",
        "a name of the future", "dispatched-ish"};
    int names_ok = 0, names_total = 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++, names_total++) {
        gl_event e = {.id = "n", .urgency = names[i], .severity = names[i],
                      .certainty = names[i], .alarm = names[i], .rating = names[i],
                      .state = GL_EV_FILED, .kind = (int)(i % 4)};
        gl_dispatch de = {.event = "n", .team = "t", .role = names[i], .state = GL_DS_DEAD};
        gl_history he = {.seq = 1, .no = 1, .what = names[i]};
        gl_event eb;
        gl_dispatch db;
        gl_history hb;
        int good = store_rec_encode_event(&sb, &e) == 0 &&
                   dec_event(sb.data, sb.size, 0, &eb, &arena) == 0 &&
                   !event_differs(&e, &eb);
        good = good && store_rec_encode_dispatch(&sb, &de) == 0 &&
               dec_dispatch(sb.data, sb.size, 0, "t", &db, &arena) == 0 &&
               !dispatch_differs(&de, &db);
        good = good && store_rec_encode_history(&sb, &he) == 0 &&
               dec_history(sb.data, sb.size, 1, 1, &hb, &arena) == 0 &&
               !history_differs(&he, &hb);
        if (!good)
            diag("the name '%s' does not round trip", names[i]);
        names_ok += good;
        arena_reset(&arena);
    }
    is_int(names_ok, names_total, "every stored name, and names outside the tables, round trip");
    {
        gl_history he = {.seq = 1, .no = 1, .what = "dispatched"};
        gl_history hb;
        store_rec_encode_history(&sb, &he);
        ok(dec_history(sb.data, sb.size, 1, 1, &hb, NULL) == 0 && hb.what == NULL &&
               hb.seq == 1 && hb.no == 1,
           "without an arena a stored name is left NULL, as strings are");
    }

    /* 2. Records of the builds before session 7 read: on their own (they
     * hold seq, team and no) and with their LMDB keys, as the store reads. */
    for (int with_key = 0; with_key < 2; with_key++) {
        const char *how = with_key ? "with its key" : "on its own";
        int rc = with_key ? dec_event(old_event_bytes, sizeof old_event_bytes, 4242, &ev, &arena)
                          : store_rec_decode_event(NULL, 0, old_event_bytes,
                                                   sizeof old_event_bytes, &ev, &arena);
        diff = rc == 0 ? event_differs(&ev, &full_event) : "the record";
        ok(!diff, "the old encoder's event bytes read as written, %s (differs: %s)", how,
           or_none(diff));
        rc = with_key ? dec_dispatch(old_dispatch_bytes, sizeof old_dispatch_bytes, 4242,
                                     "heping-fire", &d, &arena)
                      : store_rec_decode_dispatch(NULL, 0, old_dispatch_bytes,
                                                  sizeof old_dispatch_bytes, &d, &arena);
        diff = rc == 0 ? dispatch_differs(&d, &full_dispatch) : "the record";
        ok(!diff, "the old encoder's dispatch bytes read as written, %s (differs: %s)", how,
           or_none(diff));
        rc = with_key ? dec_history(old_history_bytes, sizeof old_history_bytes, 4242, 7, &h,
                                    &arena)
                      : store_rec_decode_history(NULL, 0, old_history_bytes,
                                                 sizeof old_history_bytes, &h, &arena);
        diff = rc == 0 ? history_differs(&h, &full_history) : "the record";
        ok(!diff, "the old encoder's history bytes read as written, %s (differs: %s)", how,
           or_none(diff));
        arena_reset(&arena);
    }

    old_event(&pk, &full_event);
    ok(other.size == sizeof old_event_bytes &&
           memcmp(other.data, old_event_bytes, other.size) == 0,
       "msgpack-c's packer with the old wire names makes the same event bytes");
    msgpack_sbuffer_clear(&other);
    old_dispatch(&pk, &full_dispatch);
    ok(other.size == sizeof old_dispatch_bytes &&
           memcmp(other.data, old_dispatch_bytes, other.size) == 0,
       "and the same dispatch bytes");
    msgpack_sbuffer_clear(&other);
    old_history(&pk, &full_history);
    ok(other.size == sizeof old_history_bytes &&
           memcmp(other.data, old_history_bytes, other.size) == 0,
       "and the same history bytes");
    msgpack_sbuffer_clear(&other);

    /* Old-form records of other shapes: no coordinates, absent strings,
     * every kind and state by name. */
    int old_ok = 0, old_total = 0;
    for (int st = 0; st <= GL_EV_MERGED; st++) {
        gl_event e = full_event;
        e.state = st;
        e.kind = st % 4;
        e.has_coords = st % 2;
        if (!e.has_coords)
            e.lat = e.lon = 0;
        e.compound = st % 3 ? e.compound : NULL;
        e.rating = st % 2 ? NULL : "satisfied";
        old_event(&pk, &e);
        old_ok += store_rec_decode_event(NULL, 0, other.data, other.size, &ev, &arena) == 0 &&
                  !event_differs(&ev, &e);
        old_total++;
        msgpack_sbuffer_clear(&other);
    }
    for (int st = 0; st < GL_DS_COUNT; st++) {
        gl_dispatch de = full_dispatch;
        de.state = st;
        de.member = st % 2 ? NULL : "li";
        de.role = st % 3 ? "owners" : "a role of the future";
        old_dispatch(&pk, &de);
        old_ok += store_rec_decode_dispatch(NULL, 0, other.data, other.size, &d, &arena) == 0 &&
                  !dispatch_differs(&d, &de);
        old_total++;
        msgpack_sbuffer_clear(&other);
    }
    is_int(old_ok, old_total, "old-form events and dispatches in every state and kind read");
    arena_reset(&arena);

    /* 2b. Records of session 7 before compact timestamps (integer keys,
     * times whole, "seq": true) read. */
    {
        const struct {
            const char *what;
            const void *rec;
            int type;
            const unsigned char *bytes;
            size_t len;
        } s7[] = {
            {"a full event", &full_event, 0, s7_event_bytes, sizeof s7_event_bytes},
            {"a filed alert", &filed_event, 0, s7_filed_event_bytes,
             sizeof s7_filed_event_bytes},
            {"an event with odd times", &odd_event, 0, s7_odd_event_bytes,
             sizeof s7_odd_event_bytes},
            {"a full dispatch", &full_dispatch, 1, s7_dispatch_bytes, sizeof s7_dispatch_bytes},
            {"a pending dispatch", &pending_dispatch, 1, s7_pending_dispatch_bytes,
             sizeof s7_pending_dispatch_bytes},
        };
        for (size_t i = 0; i < sizeof s7 / sizeof s7[0]; i++) {
            /* An exact-length heap copy: a read past it is the sanitizers'. */
            unsigned char *copy = malloc(s7[i].len);
            memcpy(copy, s7[i].bytes, s7[i].len);
            if (s7[i].type == 0) {
                const gl_event *want = s7[i].rec;
                int rc = dec_event(copy, s7[i].len, want->seq, &ev, &arena);
                diff = rc == 0 ? event_differs(&ev, want) : "the record";
            } else {
                const gl_dispatch *want = s7[i].rec;
                int rc = dec_dispatch(copy, s7[i].len, want->seq, want->team, &d, &arena);
                diff = rc == 0 ? dispatch_differs(&d, want) : "the record";
            }
            ok(!diff, "session 7's integer-key bytes of %s read as written (differs: %s)",
               s7[i].what, or_none(diff));
            int refused_cuts = 0;
            for (size_t cut = 0; cut < s7[i].len; cut++) {
                int rc = s7[i].type == 0
                             ? store_rec_decode_event(NULL, 0, copy, cut, &ev, &arena)
                             : store_rec_decode_dispatch(NULL, 0, copy, cut, &d, &arena);
                refused_cuts += rc == GL_ESTORAGE;
            }
            is_int(refused_cuts, (int)s7[i].len, "and every truncation of it is refused");
            free(copy);
            arena_reset(&arena);
        }
        ok(dec_history(s7_history_bytes, sizeof s7_history_bytes, 4242, 7, &h, &arena) == 0 &&
               !history_differs(&h, &full_history),
           "session 7's history bytes read as written");
        arena_reset(&arena);
    }

    /* 3. Keys this build does not know, of either form, are skipped. */
    msgpack_pack_map(&pk, 8);
    msgpack_pack_uint8(&pk, 1); /* id */
    pk_str(&pk, "rec-mixed");
    msgpack_pack_uint8(&pk, 99); /* an integer key of the future */
    msgpack_pack_array(&pk, 2);
    msgpack_pack_uint8(&pk, 1);
    pk_str(&pk, "x");
    msgpack_pack_uint16(&pk, 1000); /* a larger one */
    msgpack_pack_map(&pk, 1);
    pk_str(&pk, "k");
    msgpack_pack_nil(&pk);
    pk_str(&pk, "future_key"); /* a string key of the future */
    pk_str(&pk, "y");
    msgpack_pack_int8(&pk, -3); /* a negative integer key */
    msgpack_pack_true(&pk);
    pk_str(&pk, "state"); /* an old key next to new ones */
    pk_str(&pk, "resolved");
    msgpack_pack_uint8(&pk, 3); /* kind */
    msgpack_pack_uint8(&pk, GL_KIND_FEEDBACK);
    msgpack_pack_uint8(&pk, 14); /* urgency */
    msgpack_pack_uint8(&pk, 2);
    int orc = store_rec_decode_event(NULL, 0, other.data, other.size, &ev, &arena);
    ok(orc == 0 && same_str(ev.id, "rec-mixed") && ev.state == GL_EV_RESOLVED &&
           ev.kind == GL_KIND_FEEDBACK && same_str(ev.urgency, "Expected") && !ev.text,
       "unknown integer keys (99, 1000, -3) and string keys are skipped, the rest read (%d)",
       orc);
    msgpack_sbuffer_clear(&other);
    arena_reset(&arena);

    /* Numbers past this build's tables read as unknown names did: states
     * NONE, names absent. */
    msgpack_pack_map(&pk, 5);
    msgpack_pack_uint8(&pk, 1);
    pk_str(&pk, "rec-future");
    msgpack_pack_uint8(&pk, 3);
    msgpack_pack_uint8(&pk, 100);
    msgpack_pack_uint8(&pk, 17);
    msgpack_pack_uint32(&pk, 70000);
    msgpack_pack_uint8(&pk, 14);
    msgpack_pack_uint8(&pk, 6);
    msgpack_pack_uint8(&pk, 30);
    msgpack_pack_uint8(&pk, 0);
    orc = store_rec_decode_event(NULL, 0, other.data, other.size, &ev, &arena);
    ok(orc == 0 && ev.kind == 0 && ev.state == 0 && ev.urgency == NULL && ev.rating == NULL,
       "a kind, state or name number this build does not have reads as NONE / absent (%d)",
       orc);
    msgpack_sbuffer_clear(&other);
    msgpack_pack_map(&pk, 2);
    msgpack_pack_uint8(&pk, 2);
    msgpack_pack_uint8(&pk, 9);
    msgpack_pack_uint8(&pk, 5);
    msgpack_pack_uint8(&pk, GL_DS_COUNT);
    orc = store_rec_decode_dispatch(NULL, 0, other.data, other.size, &d, &arena);
    ok(orc == 0 && d.state == GL_DS_NONE && d.seq == 9,
       "a dispatch state past the last one reads as NONE (%d)", orc);
    msgpack_sbuffer_clear(&other);
    arena_reset(&arena);

    /* 4. Malformed input. */
    int refused = 0, total = 0;
    store_rec_encode_event(&sb, &full_event);
    for (size_t cut = 0; cut < sb.size; cut++, total++)
        refused += store_rec_decode_event(NULL, 0, sb.data, cut, &ev, &arena) == GL_ESTORAGE;
    store_rec_encode_dispatch(&sb, &full_dispatch);
    for (size_t cut = 0; cut < sb.size; cut++, total++)
        refused += store_rec_decode_dispatch(NULL, 0, sb.data, cut, &d, &arena) == GL_ESTORAGE;
    store_rec_encode_history(&sb, &full_history);
    for (size_t cut = 0; cut < sb.size; cut++, total++)
        refused += store_rec_decode_history(NULL, 0, sb.data, cut, &h, &arena) == GL_ESTORAGE;
    is_int(refused, total, "every truncation of a new-form record is GL_ESTORAGE");
    arena_reset(&arena);

    /* Each truncation again from a copy of exactly that length on the heap,
     * so that a read past it would be seen by the sanitizers. */
    store_rec_encode_event(&sb, &full_event);
    refused = total = 0;
    for (size_t cut = 0; cut <= sb.size; cut++, total++) {
        unsigned char *copy = malloc(cut ? cut : 1);
        memcpy(copy, sb.data, cut);
        int rc = store_rec_decode_event(NULL, 0, copy, cut, &ev, &arena);
        refused += cut == sb.size ? rc == 0 : rc == GL_ESTORAGE;
        free(copy);
    }
    is_int(refused, total, "and from heap copies of exactly that length (the whole one reads)");
    arena_reset(&arena);

    struct {
        const char *what;
        unsigned char bytes[8];
        size_t len;
    } const broken[] = {
        {"a key with no value", {0x81, 0x01}, 2},
        {"a string field holding a number", {0x81, 0x01, 0x05}, 3},
        {"a number field holding a string", {0x81, 0x02, 0xa1, 'x'}, 4},
        {"a kind holding a negative number", {0x81, 0x03, 0xff}, 3},
        {"a kind holding nil", {0x81, 0x03, 0xc0}, 3},
        {"a stored name holding binary", {0x81, 0x0e, 0xc4, 0x01, 'x'}, 5},
        {"a number field holding true under an integer key", {0x81, 0x02, 0xc3}, 3},
        {"a field holding an array", {0x81, 0x0c, 0x91, 0x01}, 4},
        {"plan_step past 32 bits", {0x81, 0x15, 0xcf, 0, 0, 0, 1, 0}, 8},
        {"a string longer than the record", {0x81, 0x0c, 0xa5, 'a', 'b'}, 5},
        {"a map of more entries than bytes", {0x8f, 0x01, 0xa1, 'x'}, 4},
        {"an unknown integer key with a value cut short", {0x81, 0x63, 0xcd, 0x01}, 4},
        {"an unknown key's ext 32 of 2^32 - 1 bytes", {0x81, 0x63, 0xc9, 0xff, 0xff, 0xff, 0xff, 0x01}, 8},
        {"the byte msgpack never uses", {0x81, 0x01, 0xc1}, 3},
        {"a key that is the unused byte", {0x81, 0xc1, 0x01}, 3},
        {"not a map", {0x91, 0x01}, 2},
        {"bytes after the map", {0x80, 0x00}, 2},
    };
    for (size_t i = 0; i < sizeof broken / sizeof broken[0]; i++) {
        unsigned char *copy = malloc(broken[i].len);
        memcpy(copy, broken[i].bytes, broken[i].len);
        is_int(store_rec_decode_event(NULL, 0, copy, broken[i].len, &ev, &arena), GL_ESTORAGE,
               "%s is refused", broken[i].what);
        free(copy);
    }
    is_int(store_rec_decode_dispatch(NULL, 0, "\x81\x08\xcf\x00\x00\x00\x01\x00\x00\x00\x00",
                                     11, &d, &arena),
           GL_ESTORAGE, "attempts past 32 bits is refused");
    is_int(store_rec_decode_history(NULL, 0, "\x81\x02\xa1x", 4, &h, &arena), GL_ESTORAGE,
           "a history number holding a string is refused");
    arena_reset(&arena);

    /* 5. The fields the key holds come from it; a key of another length is
     * a damaged store. */
    store_rec_encode_dispatch(&sb, &full_dispatch);
    ok(dec_dispatch(sb.data, sb.size, 99, "xijie-duty", &d, &arena) == 0 && d.seq == 99 &&
           same_str(d.team, "xijie-duty") && same_str(d.event, "T17-0001"),
       "a dispatch's seq and team are its key's");
    ok(dec_dispatch(sb.data, sb.size, 99, "xijie-duty", &d, NULL) == 0 && d.seq == 99 &&
           d.team == NULL && d.state == GL_DS_DECLINED,
       "without an arena its team is left NULL, as strings are");
    ok(dec_dispatch(old_dispatch_bytes, sizeof old_dispatch_bytes, 99, "xijie-duty", &d,
                    &arena) == 0 && d.seq == 99 && same_str(d.team, "xijie-duty"),
       "the key wins over what an old record says");
    is_int(store_rec_decode_dispatch(key_buf, 8, sb.data, sb.size, &d, &arena), GL_ESTORAGE,
           "a dispatch key without a team is refused");
    store_rec_encode_event(&sb, &full_event);
    is_int(store_rec_decode_event(key_buf, 7, sb.data, sb.size, &ev, &arena), GL_ESTORAGE,
           "an event key of 7 bytes is refused");
    store_rec_encode_history(&sb, &full_history);
    is_int(store_rec_decode_history(key_buf, 8, sb.data, sb.size, &h, &arena), GL_ESTORAGE,
           "a history key of 8 bytes is refused");
    arena_reset(&arena);

    /* 6. The guard: a build before session 7 reads "seq" as a number, and
     * one of session 7 before compact timestamps skips only "seq": true, so
     * a new event or dispatch is GL_ESTORAGE to both; this build skips
     * either. */
    store_rec_encode_event(&sb, &full_event);
    ok(sb.size > 8 && (unsigned char)sb.data[0] == 0xde &&
           memcmp(sb.data + 3, "\xa3seq\xc0", 5) == 0,
       "an event begins with \"seq\": nil");
    store_rec_encode_dispatch(&sb, &full_dispatch);
    ok(sb.size > 6 && memcmp(sb.data + 1, "\xa3seq\xc0", 5) == 0,
       "a dispatch begins with \"seq\": nil");
    for (int nil = 0; nil < 2; nil++) {
        msgpack_pack_map(&pk, 2);
        pk_str(&pk, "seq");
        if (nil)
            msgpack_pack_nil(&pk);
        else
            msgpack_pack_true(&pk);
        pk_str(&pk, "id");
        pk_str(&pk, "g");
        ok(store_rec_decode_event(NULL, 0, other.data, other.size, &ev, &arena) == 0 &&
               ev.seq == 0 && same_str(ev.id, "g"),
           "this build skips the guard \"seq\": %s", nil ? "nil" : "true");
        msgpack_sbuffer_clear(&other);
    }
    msgpack_pack_map(&pk, 1);
    pk_str(&pk, "due_ms");
    msgpack_pack_true(&pk);
    is_int(store_rec_decode_event(NULL, 0, other.data, other.size, &ev, &arena), GL_ESTORAGE,
           "true under another old key is still refused");
    msgpack_sbuffer_clear(&other);

    msgpack_pack_map(&pk, 1);
    pk_str(&pk, "due_ms");
    msgpack_pack_nil(&pk);
    is_int(store_rec_decode_event(NULL, 0, other.data, other.size, &ev, &arena), GL_ESTORAGE,
           "nil under another old key is refused");
    msgpack_sbuffer_clear(&other);
    arena_reset(&arena);

    /* 7. Compact timestamps: every time field round trips exactly, in the
     * shorter of its two forms, whatever its distance from created_ms. */
    time_round_trips(&sb, &arena);
    time_malformed(&sb, &arena);
    arena_reset(&arena);

    arena_free(&arena);
    msgpack_sbuffer_destroy(&other);
    msgpack_sbuffer_destroy(&sb);
    return done_testing();
}
