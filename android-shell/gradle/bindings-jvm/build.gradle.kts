// The generated Kotlin bindings, JVM flavour: what :shell compiles against and its unit tests
// run with (on a desktop JVM, JNA loads ../build/bindings/lib/libgridpatrol_ffi.so).
plugins {
    alias(libs.plugins.kotlin.jvm)
}
kotlin { jvmToolchain(17) }
sourceSets["main"].kotlin.srcDir(rootDir.resolve("../build/bindings/kotlin"))
dependencies {
    api(libs.jna)
    api(libs.kotlinx.coroutines.core)
}
