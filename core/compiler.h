/* Compiler attributes used across faultline. */
#ifndef FL_CORE_COMPILER_H
#define FL_CORE_COMPILER_H

#define FL_WUR		 __attribute__((warn_unused_result))
#define FL_PRINTF(a, b)	 __attribute__((format(printf, a, b)))
#define FL_UNUSED	 __attribute__((unused))
#define FL_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
